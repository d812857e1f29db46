// The package entry point: re-exports only, grouped by layer from the outside in.

// Server
export {
  serve,
  Server,
  isNativeUws,
  DEFAULT_SHUTDOWN_TIMEOUT,
  DEFAULT_WEBSOCKET_OPTIONS,
  type ASGIAppLike,
  type LifespanMode,
  type ServeOptions,
  type TLSOptions,
  type WebSocketOptions,
} from "./server";

// App and routing
export * from "./app";

// Connections
export {
  ASGIConnection,
  Request,
  WebSocket,
  type RequestOptions,
  type SessionData,
  type WebSocketAcceptOptions,
  type WebSocketData,
  type WebSocketState,
} from "./connection";

// Data structures
export * from "./datastructures";

// Middleware
export {
  ASGIMiddleware,
  AbstractMiddleware,
  DefineMiddleware,
  buildMiddlewareStack,
  wrapMiddleware,
  type AbstractMiddlewareOptions,
  type Middleware,
  type WrappingMiddleware,
} from "./middleware/base";
export { buildExcludePathPattern, shouldBypassMiddleware } from "./middleware/exclude";

// Sessions
export * from "./middleware/session";

// Stores
export * from "./stores";

// Testing
export {
  TestClient,
  createTestClient,
  CookieJar,
  LifeSpanHandler,
  TestResponse,
  WebSocketDenialResponse,
  WebSocketTestSession,
  findSessionBackend,
  parseSetCookieHeader,
  type CookieJarOptions,
  type HeadersInput,
  type JarCookie,
  type ParsedSetCookie,
  type QueryInput,
  type RequestOptions as TestRequestOptions,
  type SessionConfigLike,
  type SetCookieOptions,
  type TestClientApp,
  type TestClientOptions,
  type WebSocketConnectOptions,
  type WebSocketTestSessionOptions,
} from "./testing";

// Errors, logging and ASGI types
export * from "./exceptions";
export { createLogger, defaultLogger, silentLogger, type LogLevel, type Logger } from "./logger";
export type * from "./types/asgi";
