export {
  createTestClient,
  TestClient,
  type HeadersInput,
  type QueryInput,
  type RequestOptions,
  type SessionConfigLike,
  type TestClientApp,
  type TestClientOptions,
  type WebSocketConnectOptions,
} from "./client";
export {
  CookieJar,
  parseSetCookieHeader,
  type CookieJarOptions,
  type JarCookie,
  type ParsedSetCookie,
  type SetCookieOptions,
} from "./cookie-jar";
export { LifeSpanHandler } from "./life-span-handler";
export { TestResponse } from "./response";
export { findSessionBackend } from "./session";
export {
  WebSocketDenialResponse,
  WebSocketTestSession,
  type WebSocketTestSessionOptions,
} from "./websocket-test-session";
