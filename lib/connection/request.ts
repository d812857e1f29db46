import {
  ASGIProtocolError,
  ClientDisconnectedError,
  ClientException,
  HTTPException,
  ImproperlyConfiguredException,
} from "../exceptions";
import type { HTTPScope, Receive, Send } from "../types/asgi";
import { ASGIConnection } from "./base";
import { getConnectionState } from "./state";

/** Litestar's default `request_max_body_size`: 10 MB. */
export const DEFAULT_MAX_BODY_SIZE = 10_000_000;

export interface RequestOptions {
  /**
   * Largest body, in bytes, that `body()`, `text()`, `json()` and `stream()` accept before
   * they throw a 413 `HTTPException`. Default 10 MB; `Infinity` turns the limit off.
   */
  maxBodySize?: number;
}

/**
 * Litestar's `Request`: an HTTP connection with its body. The body is read from `receive` at
 * most once; `body()` keeps it on the scope, so middleware and the handler can both read it.
 */
export class Request extends ASGIConnection<HTTPScope> {
  readonly maxBodySize: number;
  private disconnected = false;

  /** @throws ImproperlyConfiguredException when `maxBodySize` is not a positive number. */
  constructor(scope: HTTPScope, receive?: Receive, send?: Send, options: RequestOptions = {}) {
    super(scope, receive, send);
    this.maxBodySize = validateMaxBodySize(options.maxBodySize ?? DEFAULT_MAX_BODY_SIZE);
  }

  /** Upper-case request method. */
  get method(): string {
    return this.scope.method;
  }

  /** True once `receive` returned `http.disconnect` to this request. */
  get isDisconnected(): boolean {
    return this.disconnected;
  }

  /** The `content-type` header without its parameters, lower-case; "" when absent. */
  get contentType(): string {
    const header = this.headers.get("content-type") ?? "";
    const end = header.indexOf(";");

    return (end === -1 ? header : header.slice(0, end)).trim().toLowerCase();
  }

  /**
   * Reads the whole body.
   *
   * @throws HTTPException 413 when the body is larger than `maxBodySize`.
   * @throws ClientDisconnectedError when the client disconnects before the body ends.
   * @throws ASGIProtocolError when the body was already consumed by `stream()`.
   */
  async body(): Promise<Buffer> {
    const state = getConnectionState(this.scope);
    if (state.body !== undefined) return state.body;

    this.markBodyConsumed();
    state.body = this.readBody();
    // Every caller receives the stored rejection. This handler only keeps Node from reporting
    // it as unhandled when no later caller reads the body.
    state.body.catch(() => undefined);

    return state.body;
  }

  /** Reads the body and decodes it as UTF-8. */
  async text(): Promise<string> {
    return (await this.body()).toString("utf8");
  }

  /**
   * Reads the body and parses it as JSON. An empty body gives null, as in Litestar.
   *
   * @throws ClientException (400) when the body is not valid JSON.
   */
  async json<T = unknown>(): Promise<T> {
    const text = await this.text();
    if (text === "") return null as T;

    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ClientException("the request body is not valid JSON");
    }
  }

  /**
   * Yields the body chunks as they arrive, without keeping them. After `body()` it yields the
   * stored body once.
   *
   * @throws the same errors as `body()`.
   */
  async *stream(): AsyncGenerator<Uint8Array, void, undefined> {
    const state = getConnectionState(this.scope);

    if (state.body !== undefined) {
      const body = await state.body;
      if (body.byteLength > 0) yield body;
      return;
    }

    this.markBodyConsumed();
    yield* this.receiveChunks();
  }

  private async readBody(): Promise<Buffer> {
    const chunks: Uint8Array[] = [];
    let size = 0;

    for await (const chunk of this.receiveChunks()) {
      chunks.push(chunk);
      size += chunk.byteLength;
    }

    return chunks.length === 1 ? toBuffer(chunks[0]) : Buffer.concat(chunks, size);
  }

  private markBodyConsumed(): void {
    const state = getConnectionState(this.scope);

    if (state.bodyConsumed) {
      throw new ASGIProtocolError(
        "the request body was already consumed by stream(); call body() first to read it twice",
      );
    }

    state.bodyConsumed = true;
  }

  private async *receiveChunks(): AsyncGenerator<Uint8Array, void, undefined> {
    this.checkContentLength();
    let size = 0;

    for (;;) {
      const message = await this.receive();

      if (message.type === "http.disconnect") {
        this.disconnected = true;
        throw new ClientDisconnectedError("the client disconnected while sending the body");
      }

      if (message.type !== "http.request") {
        throw new ASGIProtocolError(`unexpected ${message.type} message while reading a body`);
      }

      size += message.body?.byteLength ?? 0;
      if (size > this.maxBodySize) throw tooLarge(this.maxBodySize);

      if (message.body !== undefined && message.body.byteLength > 0) yield message.body;
      if (!message.more_body) return;
    }
  }

  /** Rejects a declared body over the limit before reading any of it. */
  private checkContentLength(): void {
    const declared = this.headers.get("content-length");
    if (declared === undefined) return;

    if (Number(declared) > this.maxBodySize) throw tooLarge(this.maxBodySize);
  }
}

function toBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk)
    ? chunk
    : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

function tooLarge(limit: number): HTTPException {
  return new HTTPException(413, `the request body is larger than the limit of ${limit} bytes`);
}

/** @throws ImproperlyConfiguredException when `value` is not a positive number of bytes. */
export function validateMaxBodySize(value: number): number {
  if (typeof value !== "number" || Number.isNaN(value) || value <= 0) {
    throw new ImproperlyConfiguredException(
      `maxBodySize must be a positive number of bytes, got ${String(value)}; use Infinity to ` +
        "accept bodies of any size",
    );
  }

  return value;
}
