/**
 * One WebSocket upgrade request as an ASGI `websocket` connection, from `websocket.connect`
 * through the handshake (or its denial) to `websocket.disconnect`.
 *
 * uWS invariants kept here: the upgrade may complete after an `await`, because `onAborted`
 * is registered and the request's `sec-websocket-key`, `sec-websocket-extensions` and socket
 * context are copied before the app runs. The 101 response carries the app's headers only when
 * `writeStatus("101 Switching Protocols")` comes before them. A `WebSocket` is valid from its
 * `open` to its `close` event, and message buffers only during the `message` callback. Above
 * `maxBackpressure` buffered bytes `ws.send()` drops messages silently, so `send()` waits for
 * `drain` first.
 */
import type {
  HttpRequest,
  HttpResponse,
  WebSocket,
  WebSocketBehavior,
  us_socket_context_t,
} from "uWebSockets.js";

import { ASGIProtocolError, ClientDisconnectedError } from "../exceptions";
import type {
  Receive,
  Send,
  WebSocketDisconnectEvent,
  WebSocketReceiveMessage,
  WebSocketScope,
} from "../types/asgi";
import { ASGI_VERSIONS, type ConnectionHost, type TrackedConnection } from "./context";
import { messageType } from "./messages";
import { ReceiveQueue } from "./receive-queue";
import { decodePath, parseSubprotocols, rawBytesOf, readHeaders, remoteAddress } from "./request";
import {
  checkHeaderName,
  encodeHeaderValue,
  RESOLVED,
  ResponseWriter,
  statusLine,
  toLatin1,
} from "./response";

/** The user data uWS stores on each socket: the connection it belongs to. */
export interface SocketData {
  connection: WebSocketConnection;
}

const PHASE_CONNECTING = 0;
const PHASE_DENYING = 1;
const PHASE_OPEN = 2;
const PHASE_CLOSED = 3;

// Return value of uWS's ws.send() for a message dropped over the backpressure limit.
const SEND_DROPPED = 2;

const CLOSE_ABNORMAL = 1006;
const CLOSE_NORMAL = 1000;
const CLOSE_GOING_AWAY = 1001;
const CLOSE_INTERNAL_ERROR = 1011;
// A close frame's payload is at most 125 bytes, 2 of them the code (RFC 6455 section 5.5).
const MAX_CLOSE_REASON_BYTES = 123;
// RFC 7230 token characters, the syntax of a subprotocol name (RFC 6455 section 4.1).
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

const DENIAL_TYPES = {
  start: "websocket.http.response.start",
  body: "websocket.http.response.body",
};

/**
 * Builds the uWS behaviour that routes every socket event to its connection; the server adds
 * `upgrade`, which calls `handleUpgrade`.
 */
export function webSocketBehavior(host: ConnectionHost): WebSocketBehavior<SocketData> {
  const { maxPayloadLength, idleTimeout, maxBackpressure } = host.options.websocket;

  return {
    maxPayloadLength,
    idleTimeout,
    maxBackpressure,
    sendPingsAutomatically: true,
    open: (ws) => ws.getUserData().connection.handleOpen(ws),
    message: (ws, message, isBinary) =>
      ws.getUserData().connection.handleMessage(message, isBinary),
    drain: (ws) => ws.getUserData().connection.handleDrain(),
    close: (ws, code, message) => ws.getUserData().connection.handleClose(code, message),
  };
}

/** Handles one upgrade request: builds the connection and runs the app. */
export function handleUpgrade(
  host: ConnectionHost,
  res: HttpResponse,
  req: HttpRequest,
  context: us_socket_context_t,
): void {
  if (host.closing) {
    res.writeStatus(statusLine(503)).end("Service Unavailable", true);
    return;
  }

  const connection = new WebSocketConnection(host, res, req, context);
  host.connectionStarted(connection);
  void connection.run();
}

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

export class WebSocketConnection implements TrackedConnection {
  readonly kind = "websocket";
  readonly id: number;
  readonly scope: WebSocketScope;
  previousRunning: TrackedConnection | null = null;
  nextRunning: TrackedConnection | null = null;

  private readonly host: ConnectionHost;
  private readonly res: HttpResponse;
  private readonly writer: ResponseWriter;
  private readonly key: string;
  private readonly extensions: string;
  private readonly context: us_socket_context_t;

  private phase = PHASE_CONNECTING;
  private ws: WebSocket<SocketData> | null = null;
  private connectDelivered = false;
  private incoming: WebSocketReceiveMessage[] = [];
  private disconnect: WebSocketDisconnectEvent | null = null;
  private readonly receives = new ReceiveQueue<WebSocketReceiveMessage>(() => this.readyMessage());
  private drainWaiters: Waiter[] = [];

  constructor(
    host: ConnectionHost,
    res: HttpResponse,
    req: HttpRequest,
    context: us_socket_context_t,
  ) {
    res.onAborted(() => this.handleUpgradeAbort());

    this.host = host;
    this.res = res;
    this.context = context;
    this.key = req.getHeader("sec-websocket-key");
    this.extensions = req.getHeader("sec-websocket-extensions");
    this.id = host.nextConnectionId();
    // The writer exists before anything that can throw, so the abort handler can always run.
    this.writer = new ResponseWriter(res, false, true, DENIAL_TYPES);
    this.scope = buildScope(host, res, req);
  }

  async run(): Promise<void> {
    // Closures kept on the connection object lead V8 to pretenure per-connection objects, so
    // receive and send live only in this call.
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

  closeAfterResponse(): void {
    this.writer.requestClose();
  }

  /** Closes an open socket with 1001 Going Away, and rejects a pending handshake with 503. */
  forceClose(): void {
    if (this.phase === PHASE_OPEN) {
      this.ws!.end(CLOSE_GOING_AWAY, "server shutting down");
      return;
    }

    if (this.phase === PHASE_CONNECTING) {
      this.respondInstead(503, "Service Unavailable");
      return;
    }

    if (this.phase === PHASE_DENYING) this.writer.closeConnection();
  }

  handleOpen(ws: WebSocket<SocketData>): void {
    this.ws = ws;
    this.phase = PHASE_OPEN;
  }

  handleMessage(message: ArrayBuffer, isBinary: boolean): void {
    if (this.phase !== PHASE_OPEN) return;

    // NOTE: messages queue without limit while the app does not read, because uWS 20.30 cannot
    // pause a WebSocket; maxPayloadLength bounds only each message.

    // The buffer is valid only during this callback: decoding copies text, slice() copies bytes.
    this.incoming.push(
      isBinary
        ? { type: "websocket.receive", bytes: Buffer.from(message.slice(0)) }
        : { type: "websocket.receive", text: Buffer.from(message).toString("utf8") },
    );
    this.receives.wake();
  }

  handleDrain(): void {
    if (this.ws === null || this.ws.getBufferedAmount() > this.maxBackpressure) return;

    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const waiter of waiters) waiter.resolve();
  }

  handleClose(code: number, message: ArrayBuffer): void {
    this.ws = null;
    this.phase = PHASE_CLOSED;
    this.setDisconnect(code, Buffer.from(message).toString("utf8"));
  }

  private get maxBackpressure(): number {
    return this.host.options.websocket.maxBackpressure;
  }

  private receiveMessage(): Promise<WebSocketReceiveMessage> {
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

    switch (this.phase) {
      case PHASE_CONNECTING:
        return this.sendBeforeHandshake(type, fields);
      case PHASE_DENYING:
        return this.sendDenialBody(type, fields);
      case PHASE_OPEN:
        return this.sendWhileOpen(type, fields);
      default:
        return Promise.reject(new ClientDisconnectedError("the WebSocket is closed"));
    }
  }

  private sendBeforeHandshake(type: string, fields: Record<string, unknown>): Promise<void> {
    switch (type) {
      case "websocket.accept":
        this.accept(fields.subprotocol, fields.headers);
        return RESOLVED;
      case "websocket.close":
        // Before the handshake, the ASGI spec turns a close into an HTTP 403 rejection.
        this.respondInstead(403, "");
        return RESOLVED;
      case "websocket.http.response.start":
        this.writer.start(fields.status, fields.headers);
        this.phase = PHASE_DENYING;
        return RESOLVED;
      default:
        throw new ASGIProtocolError(
          "Expected ASGI message 'websocket.accept', 'websocket.close' or " +
            `'websocket.http.response.start', but got '${type}'`,
        );
    }
  }

  private sendDenialBody(type: string, fields: Record<string, unknown>): Promise<void> {
    if (type !== "websocket.http.response.body") {
      throw new ASGIProtocolError(
        `Expected ASGI message 'websocket.http.response.body', but got '${type}'`,
      );
    }

    const written = this.writer.body(fields.body, fields.more_body);
    if (this.writer.complete) this.finishHandshake();
    return written;
  }

  private sendWhileOpen(type: string, fields: Record<string, unknown>): Promise<void> {
    if (type === "websocket.send") return this.sendFrame(fields.bytes, fields.text);
    if (type === "websocket.close") return this.closeFromApp(fields.code, fields.reason);

    throw new ASGIProtocolError(
      `Expected ASGI message 'websocket.send' or 'websocket.close', but got '${type}'`,
    );
  }

  private accept(subprotocol: unknown, headers: unknown): void {
    const protocol = checkSubprotocol(subprotocol, this.scope.subprotocols);
    const head = encodeAcceptHeaders(headers);

    this.res.cork(() => {
      this.res.writeStatus("101 Switching Protocols");
      for (let i = 0; i < head.length; i += 2) this.res.writeHeader(head[i], head[i + 1]);

      const data: SocketData = { connection: this };
      // uWS calls `open` synchronously inside upgrade(), which moves the phase to OPEN.
      this.res.upgrade(data, this.key, protocol, this.extensions, this.context);
    });

    // Without `open`, no socket exists to send on, so the app gets a lost connection.
    if (this.phase === PHASE_CONNECTING) this.finishHandshake();
  }

  private sendFrame(bytes: unknown, text: unknown): Promise<void> {
    const hasBytes = bytes !== undefined && bytes !== null;
    const hasText = text !== undefined && text !== null;

    if (hasBytes === hasText) {
      throw new ASGIProtocolError("'websocket.send' needs exactly one of 'bytes' and 'text'");
    }

    if (hasText && typeof text !== "string") {
      throw new ASGIProtocolError(`'websocket.send' text must be a string, got ${typeof text}`);
    }

    if (hasText && !isWellFormed(text as string)) {
      throw new ASGIProtocolError(
        "'websocket.send' text contains a lone UTF-16 surrogate, which has no UTF-8 encoding; " +
          "send it as bytes or fix the string",
      );
    }

    if (hasBytes && !(bytes instanceof Uint8Array)) {
      throw new ASGIProtocolError(
        `'websocket.send' bytes must be a Uint8Array, got ${typeof bytes}`,
      );
    }

    return this.sendWhenDrained(hasBytes ? (bytes as Uint8Array) : (text as string), hasBytes);
  }

  /** Sends once the buffer is under maxBackpressure, and resolves once it is again. */
  private sendWhenDrained(data: Uint8Array | string, isBinary: boolean): Promise<void> {
    const ws = this.ws;
    if (ws === null) return Promise.reject(new ClientDisconnectedError("the WebSocket is closed"));

    // Waiting senders go first, so messages keep the order the app sent them in.
    if (this.drainWaiters.length > 0 || ws.getBufferedAmount() > this.maxBackpressure) {
      return this.waitDrain().then(() => this.sendWhenDrained(data, isBinary));
    }

    if (ws.send(data, isBinary) === SEND_DROPPED) {
      return this.waitDrain().then(() => this.sendWhenDrained(data, isBinary));
    }

    return ws.getBufferedAmount() > this.maxBackpressure ? this.waitDrain() : RESOLVED;
  }

  private waitDrain(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.drainWaiters.push({ resolve, reject });
    });
  }

  private closeFromApp(code: unknown, reason: unknown): Promise<void> {
    const closeCode = checkCloseCode(code);
    const closeReason = checkCloseReason(reason);

    // uWS calls `close` synchronously inside end(), which records the disconnect.
    this.ws!.end(closeCode, closeReason);
    return RESOLVED;
  }

  private readyMessage(): WebSocketReceiveMessage | null {
    if (!this.connectDelivered) {
      this.connectDelivered = true;
      return { type: "websocket.connect" };
    }

    return this.incoming.shift() ?? this.disconnect;
  }

  private setDisconnect(code: number, reason: string): void {
    this.disconnect ??= { type: "websocket.disconnect", code, reason };

    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const waiter of waiters) {
      waiter.reject(new ClientDisconnectedError("the WebSocket closed"));
    }

    this.receives.wake();
  }

  /** Ends a handshake that did not open a socket; the app then receives code 1006. */
  private finishHandshake(): void {
    this.phase = PHASE_CLOSED;
    this.setDisconnect(CLOSE_ABNORMAL, "");
  }

  private respondInstead(status: number, text: string): void {
    this.writer.respondPlain(status, text, true);
    this.finishHandshake();
  }

  private handleUpgradeAbort(): void {
    this.writer.abort();
    if (this.phase === PHASE_CONNECTING || this.phase === PHASE_DENYING) this.finishHandshake();

    this.host.logger.debug(
      { connectionId: this.id },
      "client disconnected before the WebSocket handshake completed",
    );
  }

  private handleReturn(): void {
    switch (this.phase) {
      case PHASE_CONNECTING:
        this.logFault(null, "ASGI app returned without accepting or rejecting the WebSocket");
        this.respondInstead(500, "Internal Server Error");
        return;
      case PHASE_DENYING:
        this.logFault(null, "ASGI app returned without completing the denial response");
        this.abandonDenial();
        return;
      case PHASE_OPEN:
        this.ws!.end(CLOSE_NORMAL, "");
        return;
    }
  }

  private handleAppError(error: unknown): void {
    if (error instanceof ClientDisconnectedError && this.phase === PHASE_CLOSED) {
      this.host.logger.debug(
        { connectionId: this.id },
        "ASGI app stopped because the WebSocket closed",
      );
      return;
    }

    switch (this.phase) {
      case PHASE_CONNECTING:
        this.logFault(error, "ASGI app raised an exception before the handshake; sent 500");
        this.respondInstead(500, "Internal Server Error");
        return;
      case PHASE_DENYING:
        this.logFault(error, "ASGI app raised an exception during the denial response");
        this.abandonDenial();
        return;
      case PHASE_OPEN:
        this.logFault(error, "ASGI app raised an exception; closed the WebSocket with 1011");
        this.ws!.end(CLOSE_INTERNAL_ERROR, "Internal Server Error");
        return;
      default:
        this.logFault(error, "ASGI app raised an exception after the WebSocket closed");
    }
  }

  /** Replaces an unfinished denial response with 500, or drops it once bytes went out. */
  private abandonDenial(): void {
    if (this.writer.committed) {
      this.writer.closeConnection();
      this.finishHandshake();
      return;
    }

    this.respondInstead(500, "Internal Server Error");
  }

  private logFault(error: unknown, message: string): void {
    const context: Record<string, unknown> = { connectionId: this.id, path: this.scope.path };
    if (error !== null) context.err = error;

    this.host.logger.error(context, message);
  }
}

function buildScope(host: ConnectionHost, res: HttpResponse, req: HttpRequest): WebSocketScope {
  const rootPath = host.options.rootPath;
  const url = req.getUrl();
  const rawPath = rawBytesOf(url);
  // getQuery() returns undefined when the target has no "?".
  const query: string | undefined = req.getQuery();
  const headers = readHeaders(req);

  return {
    type: "websocket",
    asgi: ASGI_VERSIONS,
    http_version: "1.1",
    scheme: host.secure ? "wss" : "ws",
    path: rootPath + decodePath(url, rawPath),
    raw_path: rootPath + rawPath,
    query_string: query ? rawBytesOf(query) : "",
    root_path: rootPath,
    headers,
    // uWS does not expose the client's port.
    client: [remoteAddress(res), null],
    server: host.serverAddress,
    state: host.copyState(),
    subprotocols: parseSubprotocols(headers),
    extensions: { "websocket.http.response": {} },
  };
}

function checkSubprotocol(subprotocol: unknown, offered: string[]): string {
  if (subprotocol === undefined || subprotocol === null) return "";

  if (typeof subprotocol !== "string" || !TOKEN.test(subprotocol)) {
    throw new ASGIProtocolError(
      `'websocket.accept' subprotocol must be a token such as "chat.v1", got ` +
        (typeof subprotocol === "string" ? JSON.stringify(subprotocol) : typeof subprotocol),
    );
  }

  // RFC 6455 section 4.2.2: the server selects one of the subprotocols the client offered.
  if (!offered.includes(subprotocol)) {
    throw new ASGIProtocolError(
      `'websocket.accept' subprotocol ${JSON.stringify(subprotocol)} was not offered by the ` +
        `client; choose one of scope.subprotocols ${JSON.stringify(offered)} or none`,
    );
  }

  return subprotocol;
}

/**
 * Returns true for a header the server itself writes on the 101 response. The ASGI spec
 * reserves Sec-WebSocket-Protocol for the `subprotocol` field.
 */
function isHandshakeHeader(lowerName: string): boolean {
  return (
    lowerName.startsWith("sec-websocket-") || lowerName === "upgrade" || lowerName === "connection"
  );
}

/** Validates the app's extra 101 headers; `date` is dropped because uWS writes its own. */
function encodeAcceptHeaders(headers: unknown): Array<string | Buffer> {
  if (headers === undefined || headers === null) return [];

  if (!Array.isArray(headers)) {
    throw new ASGIProtocolError("'websocket.accept' headers must be an array of pairs");
  }

  const head: Array<string | Buffer> = [];

  for (const header of headers) {
    if (!Array.isArray(header) || header.length !== 2) {
      throw new ASGIProtocolError("'websocket.accept' headers must be [name, value] pairs");
    }

    const name = toLatin1(header[0], "name");
    checkHeaderName(name);
    const value = encodeHeaderValue(name, toLatin1(header[1], "value"));
    const lowerName = name.toLowerCase();

    if (isHandshakeHeader(lowerName)) {
      throw new ASGIProtocolError(
        `'websocket.accept' headers must not contain ${JSON.stringify(name)}, because the ` +
          "server writes the handshake headers; set a subprotocol with the 'subprotocol' field",
      );
    }

    if (lowerName !== "date") head.push(name, value);
  }

  return head;
}

/**
 * Returns false for a string with a lone surrogate, which uWS would send as invalid UTF-8.
 * ES2024 `isWellFormed()` (Node 20 and later) returns at once for a one-byte string.
 */
function isWellFormed(text: string): boolean {
  return (text as string & { isWellFormed(): boolean }).isWellFormed();
}

/** Returns a close code an endpoint may send (RFC 6455 section 7.4), 1000 by default. */
function checkCloseCode(code: unknown): number {
  if (code === undefined || code === null) return CLOSE_NORMAL;

  const valid =
    Number.isInteger(code) &&
    (((code as number) >= 1000 && (code as number) <= 1003) ||
      ((code as number) >= 1007 && (code as number) <= 1014) ||
      ((code as number) >= 3000 && (code as number) <= 4999));

  if (!valid) {
    throw new ASGIProtocolError(
      `'websocket.close' code must be 1000-1003, 1007-1014 or 3000-4999, got ${String(code)}`,
    );
  }

  return code as number;
}

function checkCloseReason(reason: unknown): string {
  if (reason === undefined || reason === null) return "";

  if (typeof reason !== "string") {
    throw new ASGIProtocolError(`'websocket.close' reason must be a string, got ${typeof reason}`);
  }

  if (!isWellFormed(reason)) {
    throw new ASGIProtocolError(
      "'websocket.close' reason contains a lone UTF-16 surrogate, which has no UTF-8 encoding",
    );
  }

  if (Buffer.byteLength(reason, "utf8") > MAX_CLOSE_REASON_BYTES) {
    throw new ASGIProtocolError(
      `'websocket.close' reason must be at most ${MAX_CLOSE_REASON_BYTES} bytes of UTF-8`,
    );
  }

  return reason;
}
