export { serve, Server, type ASGIAppLike } from "./server";
export {
  DEFAULT_MAX_BODY_SIZE,
  DEFAULT_SHUTDOWN_TIMEOUT,
  DEFAULT_WEBSOCKET_OPTIONS,
  resolveServeOptions,
  type LifespanMode,
  type ResolvedServeOptions,
  type ServeOptions,
  type TLSOptions,
  type WebSocketOptions,
} from "./options";
export { isNativeUws } from "./uws";
