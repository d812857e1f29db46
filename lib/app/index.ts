export { App, toASGIApp, type AppOptions, type LifespanHook } from "./app";
export {
  HTTPRouteHandler,
  WebSocketRouteHandler,
  del,
  get,
  patch,
  post,
  put,
  route,
  websocket,
  type HTTPHandlerFunction,
  type HTTPRouteHandlerOptions,
  type RouteHandler,
  type RouteHandlerOptions,
  type WebSocketHandlerFunction,
} from "./handlers";
export { type PathParameterType } from "./path";
export { Redirect, Response, type ResponseInit, type ResponseLike } from "./response";
