/**
 * ASGI 3.0 scopes and messages: the HTTP & WebSocket message format (www spec 2.5, with the
 * `websocket.http.response` denial extension) and the lifespan spec 2.0.
 *
 * Field names keep the spec's spelling because they are a protocol. The representation is
 * chosen for uWebSockets.js, which hands out strings: every byte string of the spec is a
 * latin-1 string here (one character per byte), and bodies and binary frames are `Uint8Array`.
 */

/** A header name and value, both latin-1 strings; request names are lower-case. */
export type Header = [name: string, value: string];

/** A header list in wire order, duplicates kept. */
export type Headers = Header[];

/** `[host, port]` of a TCP peer, or a Unix socket path with no port. */
export type Address = [host: string, port: number | null];

export interface ASGIVersions {
  version: "3.0";
  spec_version: string;
}

/** Fields shared by `http` and `websocket` scopes. */
interface BaseConnectionScope {
  asgi: ASGIVersions;
  http_version: "1.0" | "1.1" | "2";
  /** Percent-decoded path, as UTF-8 text. */
  path: string;
  /** The path as it arrived on the wire, a latin-1 string of its bytes, query excluded. */
  raw_path: string;
  /** Everything after the `?`, a latin-1 string of its bytes, without the `?`. */
  query_string: string;
  root_path: string;
  headers: Headers;
  client: Address | null;
  server: Address | null;
  /** A shallow copy of the lifespan state, or an empty object when lifespan did not run. */
  state: Record<string, unknown>;
  extensions?: Record<string, Record<string, unknown>>;

  // Keys that Litestar adds to the scope, with its spelling.
  /** The session loaded by `SessionMiddleware`; `null` once the app cleared it. */
  session?: Record<string, unknown> | null;
  /** The matched route handler, set by `App` routing. */
  route_handler?: RouteHandlerInfo;
  path_params?: Record<string, unknown>;
  app?: unknown;

  /** Extra keys a middleware or server may add. */
  [key: string]: unknown;
}

/** The parts of the matched route handler that middleware may read. */
export interface RouteHandlerInfo {
  /** Free-form options, as Litestar's `opt`; `excludeOptKey` is looked up here. */
  opt: Record<string, unknown>;
  /** The route path template, such as `/users/{id:int}`. */
  path?: string;
  name?: string;
}

export interface HTTPScope extends BaseConnectionScope {
  type: "http";
  /** Upper-case request method. */
  method: string;
  scheme: "http" | "https";
}

export interface WebSocketScope extends BaseConnectionScope {
  type: "websocket";
  scheme: "ws" | "wss";
  subprotocols: string[];
}

export interface LifespanScope {
  type: "lifespan";
  asgi: ASGIVersions;
  /** Starts empty; what the app stores here during startup is copied into every later scope. */
  state: Record<string, unknown>;
  [key: string]: unknown;
}

export type Scope = HTTPScope | WebSocketScope | LifespanScope;
export type ConnectionScope = HTTPScope | WebSocketScope;
export type ScopeType = Scope["type"];

// ---- HTTP ----------------------------------------------------------------------------------

export interface HTTPRequestEvent {
  type: "http.request";
  body: Uint8Array;
  more_body: boolean;
}

export interface HTTPDisconnectEvent {
  type: "http.disconnect";
}

export interface HTTPResponseStartEvent {
  type: "http.response.start";
  status: number;
  headers?: Headers;
  trailers?: boolean;
}

export interface HTTPResponseBodyEvent {
  type: "http.response.body";
  body?: Uint8Array;
  more_body?: boolean;
}

export interface HTTPResponseTrailersEvent {
  type: "http.response.trailers";
  headers?: Headers;
  more_trailers?: boolean;
}

// ---- WebSocket -----------------------------------------------------------------------------

export interface WebSocketConnectEvent {
  type: "websocket.connect";
}

export interface WebSocketAcceptEvent {
  type: "websocket.accept";
  subprotocol?: string | null;
  /** Extra headers for the 101 response. */
  headers?: Headers;
}

/** A frame from the client: exactly one of `bytes` and `text` is set. */
export interface WebSocketReceiveEvent {
  type: "websocket.receive";
  bytes?: Uint8Array | null;
  text?: string | null;
}

/** A frame to the client: exactly one of `bytes` and `text` must be set. */
export interface WebSocketSendEvent {
  type: "websocket.send";
  bytes?: Uint8Array | null;
  text?: string | null;
}

export interface WebSocketDisconnectEvent {
  type: "websocket.disconnect";
  /** The client's close code: 1005 when its close frame had none, 1006 when the link was lost. */
  code: number;
  reason?: string | null;
}

export interface WebSocketCloseEvent {
  type: "websocket.close";
  /** Defaults to 1000. Before the handshake completes, any close becomes an HTTP 403. */
  code?: number;
  reason?: string | null;
}

/** Denial-response extension: an HTTP response in place of the 101. */
export interface WebSocketResponseStartEvent {
  type: "websocket.http.response.start";
  status: number;
  headers?: Headers;
}

export interface WebSocketResponseBodyEvent {
  type: "websocket.http.response.body";
  body?: Uint8Array;
  more_body?: boolean;
}

// ---- Lifespan ------------------------------------------------------------------------------

export interface LifespanStartupEvent {
  type: "lifespan.startup";
}
export interface LifespanShutdownEvent {
  type: "lifespan.shutdown";
}
export interface LifespanStartupCompleteEvent {
  type: "lifespan.startup.complete";
}
export interface LifespanStartupFailedEvent {
  type: "lifespan.startup.failed";
  message?: string;
}
export interface LifespanShutdownCompleteEvent {
  type: "lifespan.shutdown.complete";
}
export interface LifespanShutdownFailedEvent {
  type: "lifespan.shutdown.failed";
  message?: string;
}

// ---- Unions --------------------------------------------------------------------------------

export type HTTPReceiveMessage = HTTPRequestEvent | HTTPDisconnectEvent;
export type HTTPSendMessage =
  HTTPResponseStartEvent | HTTPResponseBodyEvent | HTTPResponseTrailersEvent;

export type WebSocketReceiveMessage =
  WebSocketConnectEvent | WebSocketReceiveEvent | WebSocketDisconnectEvent;
export type WebSocketSendMessage =
  | WebSocketAcceptEvent
  | WebSocketSendEvent
  | WebSocketCloseEvent
  | WebSocketResponseStartEvent
  | WebSocketResponseBodyEvent;

export type LifespanReceiveMessage = LifespanStartupEvent | LifespanShutdownEvent;
export type LifespanSendMessage =
  | LifespanStartupCompleteEvent
  | LifespanStartupFailedEvent
  | LifespanShutdownCompleteEvent
  | LifespanShutdownFailedEvent;

export type ReceiveMessage = HTTPReceiveMessage | WebSocketReceiveMessage | LifespanReceiveMessage;
export type SendMessage = HTTPSendMessage | WebSocketSendMessage | LifespanSendMessage;
export type Message = ReceiveMessage | SendMessage;

export type Receive = () => Promise<ReceiveMessage>;
export type Send = (message: SendMessage) => Promise<void>;

/** An ASGI 3.0 application: one call per connection or lifespan. */
export type ASGIApp = (scope: Scope, receive: Receive, send: Send) => Promise<void>;
