export { ASGIConnection, type SessionData } from "./base";
export { Request, DEFAULT_MAX_BODY_SIZE, type RequestOptions } from "./request";
export {
  WebSocket,
  type WebSocketAcceptOptions,
  type WebSocketData,
  type WebSocketState,
} from "./websocket";
