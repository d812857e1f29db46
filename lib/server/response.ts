/**
 * Writes one ASGI HTTP response (`http.response.*`, or the WebSocket denial response) to a uWS
 * `HttpResponse`.
 *
 * Invariants of uWebSockets.js 20.30 that shape this class:
 * - an `HttpResponse` must not be touched after `onAborted` ran or after the response ended,
 *   so every write checks `aborted` and `ended` first;
 * - writes made outside a uWS callback go inside `res.cork()`, which batches them into one
 *   syscall (corking again inside a callback is harmless);
 * - `end(body)` writes its own `Content-Length`, so the app's header is dropped there and
 *   checked against the body instead;
 * - `write()` switches to chunked encoding and ignores empty chunks, and `tryEnd()` streams a
 *   body of known length. After either, `end(..., true)` would write `Connection: close` into
 *   the body, so a streamed response that must close announces it in its head instead;
 * - a JS string passed to `writeHeader` goes out as UTF-8, so latin-1 values go as Buffers;
 * - uWS writes its own `Date` header, so the app's is dropped rather than sent twice;
 * - `endWithoutBody(n)` leaves the response unfinished (and so does `endWithoutBody(undefined,
 *   close)`), so bodyless responses carry their `content-length` as an ordinary header and end
 *   with a bare `endWithoutBody()`.
 */
import { STATUS_CODES } from "node:http";

import type { HttpResponse } from "uWebSockets.js";

import { ASGIProtocolError, ClientDisconnectedError } from "../exceptions";

export const EMPTY_BODY: Uint8Array = Buffer.alloc(0);

/** A settled promise shared by every `send()` that did not have to wait. */
export const RESOLVED: Promise<void> = Promise.resolve();

// RFC 9110 token characters.
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Anything but visible ASCII, space and tab sends a value down the slow path.
const VALUE_NEEDS_CHECK = /[^\t\x20-\x7e]/;
// Control characters other than tab (CR and LF would split the response), or a character that
// is not latin-1 and so cannot stand for one byte.
const VALUE_FORBIDDEN = /[\x00-\x08\x0a-\x1f\x7f]|[^\x00-\xff]/;
const DIGITS = /^\d+$/;

const PHASE_AWAITING_START = 0;
const PHASE_STARTED = 1;
const PHASE_STREAMING = 2;
const PHASE_COMPLETE = 3;

const statusLines: string[] = [];
/** The head of a response without headers, shared and never written to. */
const NO_HEAD: Array<string | Buffer> = [];
const STATUS_OK = statusLine(200);

/** Returns the status line text uWS expects, such as "404 Not Found". */
export function statusLine(status: number): string {
  return (statusLines[status] ??= `${status} ${STATUS_CODES[status] ?? ""}`);
}

/** The message names a writer uses in its errors, since the denial response has its own. */
export interface ResponseMessageTypes {
  start: string;
  body: string;
}

export const HTTP_RESPONSE_TYPES: ResponseMessageTypes = {
  start: "http.response.start",
  body: "http.response.body",
};

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * The writer whose request handler uWS is running, until the microtasks queued during that
 * handler have run. uWS.js runs those microtasks before it returns to uWS, while the socket is
 * still corked, so a bare app that responds after one `await` needs no `cork()` call of its own.
 */
let corkedWriter: ResponseWriter | null = null;

function clearCorkedWriter(): void {
  corkedWriter = null;
}

/** Marks `writer` as corked; call it synchronously inside the uWS request handler. */
export function beginCorkedTurn(writer: ResponseWriter): void {
  corkedWriter = writer;
}

/** Clears the mark with a microtask, queued behind those the handler has queued so far. */
export function endCorkedTurn(): void {
  // A reaction on a settled promise costs less than queueMicrotask(), which also tracks async
  // context; both run in the same microtask queue.
  void RESOLVED.then(clearCorkedWriter);
}

export class ResponseWriter {
  /** Set by the owner's `onAborted` handler through `abort()`. */
  aborted = false;

  private phase = PHASE_AWAITING_START;
  /** uWS finished the response, so `res` is no longer valid. */
  private ended = false;
  private headWritten = false;
  private bodyless = false;
  /** A 204 response, which carries neither Content-Length nor Transfer-Encoding. */
  private noContent = false;
  /** Close the connection after this response: set by the server or the app's header. */
  private closeAfter: boolean;
  /** The value of `closeAfter` before the app's headers are read. */
  private closeRequested: boolean;
  private statusText = "";
  /** Header names and values to write, flattened: name, value, name, value. */
  private head: Array<string | Buffer> = NO_HEAD;
  /** How many entries of `head` are in use; sized for every header, it may keep spare room. */
  private headLength = 0;
  private declaredLength = -1;
  private bytesSent = 0;
  private waiter: Waiter | null = null;
  private writableHandlerSet = false;
  private retryChunk: Uint8Array | null = null;
  private retryBase = 0;

  constructor(
    private readonly res: HttpResponse,
    private readonly headOnly: boolean,
    closeAfter: boolean,
    private readonly types: ResponseMessageTypes = HTTP_RESPONSE_TYPES,
  ) {
    this.closeAfter = closeAfter;
    this.closeRequested = closeAfter;
  }

  /** True once the app sent `http.response.start`. */
  get started(): boolean {
    return this.phase !== PHASE_AWAITING_START;
  }

  /** True once the app sent its final body message, or the server responded in its place. */
  get complete(): boolean {
    return this.phase === PHASE_COMPLETE;
  }

  /** True once bytes of this response went to uWS, so an error page can no longer replace it. */
  get committed(): boolean {
    return this.headWritten || this.ended;
  }

  /** True while uWS still accepts calls on the response: not aborted and not ended. */
  get responseOpen(): boolean {
    return !this.aborted && !this.ended;
  }

  /** Validates and stores the response head; nothing is written until the first body. */
  start(status: unknown, headers: unknown): void {
    if (this.phase !== PHASE_AWAITING_START) {
      throw new ASGIProtocolError(
        `Expected ASGI message '${this.types.body}', but got '${this.types.start}'; ` +
          "a response has exactly one start message",
      );
    }

    // A 1xx status marks an interim response, so as the final status it would leave the
    // client waiting for the real one.
    if (!Number.isInteger(status) || (status as number) < 200 || (status as number) > 999) {
      throw new ASGIProtocolError(
        `'${this.types.start}' status must be an integer from 200 to 999, got ` +
          `${typeof status === "number" ? status : typeof status}`,
      );
    }

    const code = status as number;
    this.noContent = code === 204;
    this.bodyless = this.headOnly || this.noContent || code === 304;
    // Starts afresh, so that headers read by a start that failed halfway are not sent.
    this.head = NO_HEAD;
    this.headLength = 0;
    this.declaredLength = -1;
    this.closeAfter = this.closeRequested;
    this.readHeaders(headers);
    this.statusText = statusLine(code);
    this.phase = PHASE_STARTED;
  }

  /** Sends one body message; resolves once uWS can take more, rejects once the client left. */
  body(body: unknown, moreBody: unknown): Promise<void> {
    if (this.phase === PHASE_AWAITING_START) {
      throw new ASGIProtocolError(
        `Expected ASGI message '${this.types.start}', but got '${this.types.body}'`,
      );
    }

    if (this.phase === PHASE_COMPLETE) {
      throw new ASGIProtocolError(
        `Unexpected ASGI message '${this.types.body}' sent after the response completed`,
      );
    }

    if (this.aborted) return Promise.reject(new ClientDisconnectedError());

    const chunk = toBody(body, this.types.body);
    const more = moreBody === true;

    if (this.bodyless) return this.finishBodyless(chunk, more);

    this.checkDeclaredLength(chunk.length, more);

    // A streamed body that reached its declared length is finished on the wire already, and
    // only empty chunks can follow it.
    if (this.ended) {
      if (!more) this.phase = PHASE_COMPLETE;
      return RESOLVED;
    }

    if (this.phase === PHASE_STARTED && !more) return this.endWhole(chunk);

    // NOTE: uWS cannot send a head without a body chunk, so an empty chunk sends nothing and
    // a streamed head goes out with the first non-empty chunk.
    if (chunk.length === 0 && more) return RESOLVED;

    return this.declaredLength >= 0
      ? this.streamKnownLength(chunk, more)
      : this.streamChunked(chunk, more);
  }

  /**
   * Sends a short plain-text response in place of the app, when nothing was written yet.
   * Returns false when it was too late.
   */
  respondPlain(status: number, text: string, closeConnection: boolean): boolean {
    if (this.committed || this.aborted) return false;

    this.phase = PHASE_COMPLETE;
    this.ended = true;
    this.res.cork(() => {
      this.res.writeStatus(statusLine(status));
      if (text.length > 0) this.res.writeHeader("content-type", "text/plain; charset=utf-8");
      this.res.end(text, closeConnection);
    });

    return true;
  }

  /** Drops the connection, for a response that can no longer complete. */
  closeConnection(): void {
    if (this.aborted || this.ended) return;

    // uWS runs the onAborted handler inside close(), which calls abort().
    this.res.close();
  }

  /** Asks for `Connection: close` on a response whose head is not written yet. */
  requestClose(): void {
    this.closeAfter = true;
    this.closeRequested = true;
  }

  /** Records that the client is gone and fails a `send()` waiting for the socket to drain. */
  abort(): void {
    this.aborted = true;

    const waiter = this.waiter;
    if (waiter === null) return;

    this.waiter = null;
    waiter.reject(new ClientDisconnectedError());
  }

  private readHeaders(headers: unknown): void {
    if (headers === undefined || headers === null) return;

    if (!Array.isArray(headers)) {
      throw new ASGIProtocolError(`'${this.types.start}' headers must be an array of pairs`);
    }

    this.head = new Array<string | Buffer>(headers.length * 2);

    for (const header of headers) {
      if (!Array.isArray(header) || header.length !== 2) {
        throw new ASGIProtocolError(
          `'${this.types.start}' headers must be [name, value] pairs, got ${typeof header}`,
        );
      }

      this.addHeader(toLatin1(header[0], "name"), toLatin1(header[1], "value"));
    }
  }

  private addHeader(name: string, value: string): void {
    checkHeaderName(name);
    const wireValue = encodeHeaderValue(name, value);

    // Only these lengths can be a header this writer handles itself.
    if (name.length === 4 || name.length === 10 || name.length === 14 || name.length === 17) {
      if (this.handleFramingHeader(name.toLowerCase(), value)) return;
    }

    this.head[this.headLength++] = name;
    this.head[this.headLength++] = wireValue;
  }

  /** Returns true when the header was consumed and must not be written as it is. */
  private handleFramingHeader(lowerName: string, value: string): boolean {
    switch (lowerName) {
      case "date":
        return true;
      case "connection":
        if (/(?:^|,)\s*close\s*(?:,|$)/i.test(value)) this.closeAfter = true;
        return true;
      // RFC 9110 section 8.6 and RFC 9112 section 6.1 forbid both on a 204, but allow them on
      // a 304 and on the answer to HEAD, where they describe the body that was not sent.
      case "content-length":
        this.setDeclaredLength(value);
        return !this.bodyless || this.noContent;
      case "transfer-encoding":
        return !this.bodyless || this.noContent;
      default:
        return false;
    }
  }

  private setDeclaredLength(value: string): void {
    const trimmed = value.trim();
    const length = DIGITS.test(trimmed) ? Number(trimmed) : NaN;

    if (!Number.isSafeInteger(length)) {
      throw new ASGIProtocolError(`invalid content-length header value ${JSON.stringify(value)}`);
    }

    if (this.declaredLength >= 0 && this.declaredLength !== length) {
      throw new ASGIProtocolError(
        `conflicting content-length headers ${this.declaredLength} and ${length}`,
      );
    }

    this.declaredLength = length;
  }

  private checkDeclaredLength(chunkLength: number, more: boolean): void {
    if (this.declaredLength < 0) return;

    const total = this.bytesSent + chunkLength;

    if (total > this.declaredLength) {
      throw new ASGIProtocolError(
        `Response content longer than Content-Length (${this.declaredLength} bytes)`,
      );
    }

    if (!more && total < this.declaredLength) {
      // Bytes already sent promised more, so the response cannot complete on this connection.
      if (this.headWritten) this.closeConnection();
      throw new ASGIProtocolError(
        `Response content shorter than Content-Length (${total} of ${this.declaredLength} bytes)`,
      );
    }
  }

  private endWhole(chunk: Uint8Array): Promise<void> {
    this.phase = PHASE_COMPLETE;
    this.ended = true;

    if (corkedWriter === this) {
      this.writeWhole(chunk);
    } else {
      this.res.cork(() => this.writeWhole(chunk));
    }

    return RESOLVED;
  }

  private writeWhole(chunk: Uint8Array): void {
    this.writeHead();
    this.res.end(chunk, this.closeAfter);
  }

  private finishBodyless(chunk: Uint8Array, more: boolean): Promise<void> {
    if (more) {
      this.phase = PHASE_STREAMING;
      return RESOLVED;
    }

    // A HEAD response without the app's content-length reports the body the app produced.
    const reportLength =
      this.headOnly &&
      !this.noContent &&
      this.declaredLength < 0 &&
      this.phase === PHASE_STARTED &&
      chunk.length > 0;

    this.phase = PHASE_COMPLETE;
    this.ended = true;
    this.res.cork(() => {
      this.writeHead();
      if (reportLength) this.res.writeHeader("content-length", String(chunk.length));
      // NOTE: endWithoutBody() takes no closeConnection here, because uWS 20.30 reads an
      // undefined length as a number and never finishes. A bodyless response that must close
      // only announces it, and the socket stays open until the client closes it.
      if (this.closeAfter) this.res.writeHeader("connection", "close");
      this.res.endWithoutBody();
    });

    return RESOLVED;
  }

  private streamChunked(chunk: Uint8Array, more: boolean): Promise<void> {
    let drained = true;

    this.phase = more ? PHASE_STREAMING : PHASE_COMPLETE;
    this.res.cork(() => {
      this.writeHead();

      if (more) {
        drained = this.res.write(chunk);
        return;
      }

      this.ended = true;
      this.res.end(chunk);
    });

    return drained ? RESOLVED : this.waitWritable();
  }

  private streamKnownLength(chunk: Uint8Array, more: boolean): Promise<void> {
    let drained = true;

    this.phase = more ? PHASE_STREAMING : PHASE_COMPLETE;
    this.bytesSent += chunk.length;
    this.res.cork(() => {
      this.writeHead();

      const base = this.res.getWriteOffset();
      const [ok, done] = this.res.tryEnd(chunk, this.declaredLength);

      if (done) this.ended = true;
      if (ok) return;

      drained = false;
      this.retryChunk = chunk;
      this.retryBase = base;
    });

    return drained ? RESOLVED : this.waitWritable();
  }

  private writeHead(): void {
    if (this.headWritten) return;

    this.headWritten = true;
    // uWS writes "200 OK" itself when no status was written.
    if (this.statusText !== STATUS_OK) this.res.writeStatus(this.statusText);

    const head = this.head;
    for (let i = 0; i < this.headLength; i += 2) {
      this.res.writeHeader(head[i], head[i + 1]);
    }

    // A streamed response cannot pass closeConnection to end(), so it announces the close here.
    if (this.closeAfter && this.phase === PHASE_STREAMING) {
      this.res.writeHeader("connection", "close");
    }
  }

  private waitWritable(): Promise<void> {
    if (!this.writableHandlerSet) {
      this.writableHandlerSet = true;
      this.res.onWritable((offset) => this.handleWritable(offset));
    }

    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  private handleWritable(offset: number): boolean {
    if (this.aborted || this.ended) return true;

    const retry = this.retryChunk;
    if (retry !== null) {
      const [ok, done] = this.res.tryEnd(
        retry.subarray(offset - this.retryBase),
        this.declaredLength,
      );

      if (done) this.ended = true;
      if (!ok) return false;

      this.retryChunk = null;
    }

    // Resolving inside onWritable lets the app write again within this callback, which stalls
    // uWS; the app continues on the next turn instead.
    const waiter = this.waiter;
    if (waiter !== null) {
      this.waiter = null;
      setImmediate(waiter.resolve);
    }

    return true;
  }
}

function toBody(body: unknown, type: string): Uint8Array {
  if (body === undefined || body === null) return EMPTY_BODY;
  if (body instanceof Uint8Array) return body;

  throw new ASGIProtocolError(`'${type}' body must be a Uint8Array, got ${typeof body}`);
}

/** Returns a header name or value as a latin-1 string; a Uint8Array is read byte by byte. */
export function toLatin1(value: unknown, part: "name" | "value"): string {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString("latin1");

  throw new ASGIProtocolError(
    `response header ${part} must be a latin-1 string or a Uint8Array, got ${typeof value}`,
  );
}

/** Throws ASGIProtocolError unless `name` is an RFC 9110 token. */
export function checkHeaderName(name: string): void {
  if (HEADER_NAME.test(name)) return;

  throw new ASGIProtocolError(`invalid response header name ${JSON.stringify(name)}`);
}

/**
 * Returns a header value as uWS should get it: ASCII as a string, other latin-1 text as a
 * Buffer of its bytes. Throws ASGIProtocolError for control characters and non-latin-1 text.
 */
export function encodeHeaderValue(name: string, value: string): string | Buffer {
  if (!VALUE_NEEDS_CHECK.test(value)) return value;

  if (VALUE_FORBIDDEN.test(value)) {
    throw new ASGIProtocolError(
      `invalid value for response header ${JSON.stringify(name)}: control characters such as ` +
        "CR and LF, and characters above U+00FF, are not allowed",
    );
  }

  return Buffer.from(value, "latin1");
}
