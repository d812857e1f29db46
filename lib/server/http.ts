/**
 * One HTTP request as an ASGI `http` connection: the scope, `receive()` for the request body
 * and `send()` for the response.
 *
 * uWS invariants kept here: the scope is copied out of the `HttpRequest` before anything
 * asynchronous, `onAborted` is registered before the app runs, and `onData` chunks are copied,
 * because uWS reuses their memory once the callback returns. uWS keeps calling `onData` after a
 * response ended early, so those chunks are dropped.
 *
 * NOTE: uWS 20.30 closes a connection when a second request is pipelined on it before an
 * asynchronous response has ended, and never calls the handler for HTTP/1.0 requests, so
 * neither gets a response from the app.
 */
import type { HttpRequest, HttpResponse } from "uWebSockets.js";

import { ASGIProtocolError, ClientDisconnectedError } from "../exceptions";
import type { Address, Headers, HTTPReceiveMessage, HTTPScope, Receive, Send } from "../types/asgi";
import { ASGI_VERSIONS, type ConnectionHost, type TrackedConnection } from "./context";
import { decodePath, rawBytesOf, readHeaders, remoteAddress } from "./request";
import { messageType } from "./messages";
import { ReceiveQueue } from "./receive-queue";
import {
  beginCorkedTurn,
  EMPTY_BODY,
  endCorkedTurn,
  RESOLVED,
  ResponseWriter,
  statusLine,
} from "./response";

// Above this many unread body bytes, uWS stops reading the socket until the app catches up;
// uvicorn uses the same high-water mark.
const PAUSE_THRESHOLD = 64 * 1024;

/** Handles one uWS request: checks its body length, builds the connection and runs the app. */
export function handleHTTPRequest(host: ConnectionHost, res: HttpResponse, req: HttpRequest): void {
  if (host.closing) {
    res.writeStatus(statusLine(503)).end("Service Unavailable", true);
    return;
  }

  const connection = new HTTPConnection(host, res, req);
  if (connection.rejectBadBodyLength()) return;

  host.connectionStarted(connection);
  connection.start();
}

export class HTTPConnection implements TrackedConnection {
  readonly kind = "http";
  readonly id: number;
  readonly scope: HTTPScope;
  previousRunning: TrackedConnection | null = null;
  nextRunning: TrackedConnection | null = null;

  private readonly host: ConnectionHost;
  private readonly res: HttpResponse;
  private readonly writer: ResponseWriter;
  private readonly declaredBodyLength: number;

  private chunks: Uint8Array[] = [];
  private queuedBytes = 0;
  private receivedBytes = 0;
  private requestComplete: boolean;
  private bodyDelivered = false;
  private paused = false;
  /** The client left, or the server responded in the app's place. */
  private disconnected = false;
  private readonly receives = new ReceiveQueue<HTTPReceiveMessage>(() => this.readyMessage());
  /** `scope.client` once read or assigned. */
  private client: Address | null | undefined = undefined;

  constructor(host: ConnectionHost, res: HttpResponse, req: HttpRequest) {
    res.onAborted(() => this.handleAbort());

    this.host = host;
    this.res = res;
    this.id = host.nextConnectionId();

    // The writer exists before anything that can throw, so the abort handler can always run.
    // uWS 20.30 passes only the standard methods, written in upper case, to the handler.
    const method = req.getCaseSensitiveMethod();
    this.writer = new ResponseWriter(res, method === "HEAD", false);
    this.scope = buildScope(this, host, req, method);

    const framing = readBodyFraming(this.scope.headers);
    this.declaredBodyLength = framing.contentLength;
    this.requestComplete = !framing.chunked && framing.contentLength <= 0;

    if (!this.requestComplete) {
      res.onData((chunk, isLast) => this.handleData(chunk, isLast));
    }
  }

  /**
   * Responds without running the app when Content-Length is invalid (400) or exceeds
   * `maxBodySize` (413). Returns true when it responded.
   */
  rejectBadBodyLength(): boolean {
    const length = this.declaredBodyLength;
    const maxBodySize = this.host.options.maxBodySize;

    if (Number.isNaN(length)) {
      this.respondInstead(400, "Bad Request");
      this.host.logger.debug(
        { connectionId: this.id },
        "request has an invalid or conflicting Content-Length; sent 400 without running the app",
      );
      return true;
    }

    if (length <= maxBodySize) return false;

    this.respondInstead(413, "Payload Too Large");
    this.host.logger.debug(
      { connectionId: this.id, contentLength: length, maxBodySize },
      "request body larger than maxBodySize; sent 413 without running the app",
    );
    return true;
  }

  /** Runs the app; what it writes before its second `await` needs no `cork()`. */
  start(): void {
    beginCorkedTurn(this.writer);
    void this.run();
    endCorkedTurn();
  }

  async run(): Promise<void> {
    // Closures kept on the connection object lead V8 to pretenure per-connection objects, whose
    // garbage then survives scavenges; receive and send live only in this call.
    const receive: Receive = () => this.receiveMessage();
    const send: Send = (message) => this.sendMessage(message);

    try {
      await this.host.app(this.scope, receive, send);
      this.handleReturn();
    } catch (error) {
      this.handleAppError(error);
    } finally {
      this.host.connectionFinished(this);
    }
  }

  /**
   * Returns `[address, null]` for `scope.client`, since uWS does not expose the client's port.
   *
   * NOTE: uWS reports the address only while the response is open, so a scope whose `client`
   * is first read after the response ended or the client left gets null.
   */
  clientAddress(): Address | null {
    if (this.client === undefined) {
      this.client = this.writer.responseOpen ? [remoteAddress(this.res), null] : null;
    }

    return this.client;
  }

  overrideClientAddress(address: Address | null): void {
    this.client = address;
  }

  closeAfterResponse(): void {
    this.writer.requestClose();
  }

  forceClose(): void {
    if (this.disconnected || this.writer.complete) return;

    if (!this.writer.committed) {
      this.respondInstead(503, "Service Unavailable");
      return;
    }

    this.writer.closeConnection();
  }

  private receiveMessage(): Promise<HTTPReceiveMessage> {
    return this.receives.receive();
  }

  private sendMessage(message: unknown): Promise<void> {
    try {
      return this.handleSend(message);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private handleSend(message: unknown): Promise<void> {
    const type = messageType(message);
    const fields = message as Record<string, unknown>;

    if (type === "http.response.start") {
      if (this.disconnected) return Promise.reject(new ClientDisconnectedError());

      this.writer.start(fields.status, fields.headers);
      return RESOLVED;
    }

    if (type === "http.response.body") {
      if (this.disconnected) return Promise.reject(new ClientDisconnectedError());

      // An ending response must let uWS read, and discard, the rest of the request body.
      if (fields.more_body !== true) this.resumeReading();

      const written = this.writer.body(fields.body, fields.more_body);
      if (this.writer.complete) this.receives.wake();
      return written;
    }

    throw new ASGIProtocolError(
      `Unexpected ASGI message '${type}' on an http connection; expected ` +
        "'http.response.start' or 'http.response.body'",
    );
  }

  /** Returns the next message for `receive()` if one is ready, without waiting. */
  private readyMessage(): HTTPReceiveMessage | null {
    if (this.disconnected || this.writer.complete) return { type: "http.disconnect" };
    if (this.bodyDelivered) return null;
    if (this.queuedBytes > 0 || this.requestComplete) return this.takeBody();
    return null;
  }

  private takeBody(): HTTPReceiveMessage {
    const chunks = this.chunks;
    const body =
      chunks.length === 0
        ? EMPTY_BODY
        : chunks.length === 1
          ? chunks[0]
          : Buffer.concat(chunks, this.queuedBytes);

    this.chunks = [];
    this.queuedBytes = 0;
    this.bodyDelivered = this.requestComplete;
    this.resumeReading();

    return { type: "http.request", body, more_body: !this.requestComplete };
  }

  private handleData(chunk: ArrayBuffer, isLast: boolean): void {
    if (this.disconnected || this.writer.complete) return;

    const length = chunk.byteLength;
    this.receivedBytes += length;

    if (this.receivedBytes > this.host.options.maxBodySize) {
      this.rejectStreamTooLarge();
      return;
    }

    if (length > 0) {
      this.chunks.push(Buffer.from(chunk.slice(0)));
      this.queuedBytes += length;
    }

    if (isLast) this.requestComplete = true;

    this.receives.wake();
    this.pauseIfBacklogged();
  }

  private pauseIfBacklogged(): void {
    if (this.paused || this.requestComplete || this.queuedBytes < PAUSE_THRESHOLD) return;

    this.paused = true;
    this.res.pause();
  }

  private resumeReading(): void {
    if (!this.paused) return;

    this.paused = false;
    if (!this.disconnected && !this.writer.complete) this.res.resume();
  }

  private rejectStreamTooLarge(): void {
    const maxBodySize = this.host.options.maxBodySize;
    this.host.logger.debug(
      { connectionId: this.id, receivedBytes: this.receivedBytes, maxBodySize },
      "streamed request body exceeded maxBodySize; sending 413 or closing the connection",
    );

    if (this.writer.committed) {
      this.writer.closeConnection();
      return;
    }

    this.respondInstead(413, "Payload Too Large");
  }

  /** Sends a plain response in the app's place; the app then gets a disconnected client. */
  private respondInstead(status: number, text: string): void {
    this.resumeReading();
    this.writer.respondPlain(status, text, true);
    this.disconnected = true;
    this.writer.abort();
    this.receives.wake();
  }

  private handleAbort(): void {
    this.disconnected = true;
    this.writer.abort();
    this.receives.wake();
    this.host.logger.debug(
      { connectionId: this.id },
      "client disconnected before the response completed",
    );
  }

  private handleReturn(): void {
    if (this.disconnected || this.writer.complete) return;

    if (!this.writer.started) {
      this.logFault(null, "ASGI app returned without starting a response; sent 500");
      this.respondInstead(500, "Internal Server Error");
      return;
    }

    this.logFault(null, "ASGI app returned without completing the response; closed the connection");
    this.writer.closeConnection();
  }

  private handleAppError(error: unknown): void {
    if (error instanceof ClientDisconnectedError && this.disconnected) {
      this.host.logger.debug(
        { connectionId: this.id },
        "ASGI app stopped because the client disconnected",
      );
      return;
    }

    if (this.disconnected || this.writer.complete) {
      this.logFault(error, "ASGI app raised an exception after the response ended");
      return;
    }

    if (!this.writer.started) {
      this.logFault(error, "ASGI app raised an exception before starting a response; sent 500");
      this.respondInstead(500, "Internal Server Error");
      return;
    }

    this.logFault(error, "ASGI app raised an exception during the response; closed the connection");
    this.writer.closeConnection();
  }

  private logFault(error: unknown, message: string): void {
    const context: Record<string, unknown> = {
      connectionId: this.id,
      method: this.scope.method,
      path: this.scope.path,
    };
    if (error !== null) context.err = error;

    this.host.logger.error(context, message);
  }
}

/** The connection behind a scope, for the `client` accessor; module-private. */
const CONNECTION = Symbol("connection");

interface ScopeWithConnection extends HTTPScope {
  [CONNECTION]: HTTPConnection;
}

/**
 * `scope.client` as a lazy, enumerable accessor, shared by every scope. Reading the address
 * from uWS allocates an ArrayBuffer, which costs more than the rest of a bare request's scope,
 * and most apps never read it. The property is added after the literal is built, because V8
 * keeps an object in fast mode when it gains an accessor, but not when a data property turns
 * into one. Spreading a scope copies the value as a plain data property.
 */
const CLIENT_PROPERTY: PropertyDescriptor = {
  enumerable: true,
  configurable: true,
  get(this: ScopeWithConnection): Address | null {
    return this[CONNECTION].clientAddress();
  },
  set(this: ScopeWithConnection, address: Address | null): void {
    this[CONNECTION].overrideClientAddress(address);
  },
};

function buildScope(
  connection: HTTPConnection,
  host: ConnectionHost,
  req: HttpRequest,
  method: string,
): HTTPScope {
  const rootPath = host.options.rootPath;
  const url = req.getUrl();
  const rawPath = rawBytesOf(url);
  // getQuery() returns undefined when the target has no "?".
  const query: string | undefined = req.getQuery();

  const scope: Omit<ScopeWithConnection, "client"> = {
    type: "http",
    asgi: ASGI_VERSIONS,
    http_version: "1.1",
    method,
    scheme: host.secure ? "https" : "http",
    path: rootPath + decodePath(url, rawPath),
    raw_path: rootPath + rawPath,
    query_string: query ? rawBytesOf(query) : "",
    root_path: rootPath,
    headers: readHeaders(req),
    server: host.serverAddress,
    state: host.copyState(),
    [CONNECTION]: connection,
  };

  return Object.defineProperty(scope, "client", CLIENT_PROPERTY) as ScopeWithConnection;
}

interface BodyFraming {
  /** The Content-Length value, -1 without one, NaN when invalid or conflicting. */
  contentLength: number;
  chunked: boolean;
}

const DIGITS = /^\d+$/;

/**
 * Reads how the request body is framed. uWS itself drops requests that carry both
 * Content-Length and Transfer-Encoding. It calls the handler for an invalid Content-Length and
 * closes the connection right after, so the 400 never arrives but the app does not run. Of
 * several differing Content-Length values it reads the first, where RFC 7230 section 3.3.3
 * calls the framing invalid and requires a 400.
 */
function readBodyFraming(headers: Headers): BodyFraming {
  let contentLength = -1;
  let chunked = false;

  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i];

    if (name === "transfer-encoding") {
      chunked = true;
      continue;
    }

    if (name !== "content-length") continue;

    const length = DIGITS.test(value) ? Number(value) : NaN;
    contentLength = contentLength === -1 || contentLength === length ? length : NaN;
  }

  return { contentLength, chunked };
}
