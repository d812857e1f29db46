import { Request, DEFAULT_MAX_BODY_SIZE, validateMaxBodySize } from "../connection/request";
import { WebSocket } from "../connection/websocket";
import {
  ASGIProtocolError,
  ClientDisconnectedError,
  HTTPException,
  ImproperlyConfiguredException,
  WebSocketDisconnect,
} from "../exceptions";
import { defaultLogger, validateLogger, type Logger } from "../logger";
import { describeValue } from "../validation";
import { ASGIMiddleware, buildMiddlewareStack, type Middleware } from "../middleware/base";
import type { Store } from "../stores/base";
import { StoreRegistry } from "../stores/registry";
import type {
  ASGIApp,
  ConnectionScope,
  HTTPScope,
  LifespanScope,
  Receive,
  Scope,
  Send,
  SendMessage,
  WebSocketScope,
} from "../types/asgi";
import { HTTPRouteHandler, WebSocketRouteHandler, type RouteHandler } from "./handlers";
import { normalizePath } from "./path";
import { Response, sendRenderedResponse, toResponse } from "./response";
import { Router, type CompiledHandler } from "./router";

/** A startup or shutdown hook; it receives the app, as in Litestar. */
export type LifespanHook = (app: App) => void | Promise<void>;

export interface AppOptions {
  /** The routes, built with `get`, `post`, `put`, `patch`, `del`, `route` and `websocket`. */
  routeHandlers: readonly RouteHandler[];
  /** Middleware for every route, outside any route's own; the first is outermost. */
  middleware?: readonly Middleware[];
  /** Named stores, as a registry or an object of name to store. Default an empty registry. */
  stores?: StoreRegistry | Record<string, Store>;
  /** Run in order on `lifespan.startup`; a failure reports `lifespan.startup.failed`. */
  onStartup?: readonly LifespanHook[];
  /** Run in order on `lifespan.shutdown`. */
  onShutdown?: readonly LifespanHook[];
  /** Initial `app.state`; copied into the lifespan state, so handlers see it in `scope.state`. */
  state?: Record<string, unknown>;
  /** Send error names, messages and stacks in 500 responses. Never enable in production. */
  debug?: boolean;
  /** Logger for unhandled errors and lifespan failures. Default `defaultLogger()`. */
  logger?: Logger;
  /** Largest request body in bytes that `Request` reads. Default 10 MB. */
  maxBodySize?: number;
}

/**
 * Litestar's `Litestar` app: routes requests to handlers, each behind a middleware stack built
 * once at construction, and runs the lifespan hooks. Pass `app.asgi` (or the app itself to
 * `serve`) wherever an ASGI app is expected.
 */
export class App {
  readonly routeHandlers: readonly RouteHandler[];
  readonly middleware: readonly Middleware[];
  readonly stores: StoreRegistry;
  readonly state: Record<string, unknown>;
  readonly debug: boolean;
  readonly logger: Logger;
  readonly maxBodySize: number;
  /** This app as an ASGI application, bound to it. */
  readonly asgi: ASGIApp;
  private readonly onStartup: readonly LifespanHook[];
  private readonly onShutdown: readonly LifespanHook[];
  private readonly router: Router;

  /** @throws ImproperlyConfiguredException naming the invalid option or route. */
  constructor(options: AppOptions) {
    this.routeHandlers = Object.freeze([...validateRouteHandlers(options?.routeHandlers)]);
    this.middleware = Object.freeze([...validateList("middleware", options.middleware)]);
    this.stores = toStoreRegistry(options.stores);
    this.state = { ...options.state };
    this.debug = validateDebug(options.debug ?? false);
    this.logger = validateLogger(options.logger ?? defaultLogger());
    this.maxBodySize = validateMaxBodySize(options.maxBodySize ?? DEFAULT_MAX_BODY_SIZE);
    this.onStartup = Object.freeze([...validateHooks("onStartup", options.onStartup)]);
    this.onShutdown = Object.freeze([...validateHooks("onShutdown", options.onShutdown)]);
    this.router = new Router(this.routeHandlers.map((handler) => this.compile(handler)));
    this.asgi = (scope, receive, send) => this.handle(scope, receive, send);
  }

  private handle(scope: Scope, receive: Receive, send: Send): Promise<void> {
    switch (scope.type) {
      case "http":
        return this.handleHTTP(scope, receive, send);
      case "websocket":
        return this.handleWebSocket(scope, receive, send);
      case "lifespan":
        return this.handleLifespan(scope, receive, send);
      default:
        return Promise.reject(
          new ASGIProtocolError(`unsupported scope type ${JSON.stringify((scope as Scope).type)}`),
        );
    }
  }

  // ---- Construction ------------------------------------------------------------------------

  /**
   * Builds a route's stack: app middleware outside route middleware, leaving out each
   * `ASGIMiddleware` whose `shouldBypassForHandler` excludes this route.
   */
  private compile(handler: RouteHandler): CompiledHandler {
    const middleware = [...this.middleware, ...handler.middleware].filter(
      (entry) => !(entry instanceof ASGIMiddleware && entry.shouldBypassForHandler(handler)),
    );
    const endpoint =
      handler instanceof HTTPRouteHandler
        ? this.httpEndpoint(handler)
        : this.websocketEndpoint(handler);

    return { handler, app: buildMiddlewareStack(middleware, endpoint) };
  }

  /** The innermost app of an HTTP route: calls the handler and sends its response. */
  private httpEndpoint(handler: HTTPRouteHandler): ASGIApp {
    const requestOptions = { maxBodySize: handler.maxBodySize ?? this.maxBodySize };

    return async (scope, receive, send) => {
      const httpScope = scope as HTTPScope;
      let response: Response;
      let body: Uint8Array;

      // Errors of the handler become responses here, inside the middleware stack, so that
      // middleware such as the session layer still receives the response start, as in Litestar.
      try {
        const request = new Request(httpScope, receive, send, requestOptions);
        const result = await handler.fn(request);
        response = toResponse(result, handler.statusCode, handler.mediaType);
        body = response.renderBody();
      } catch (error) {
        if (isDisconnect(error)) return this.logDisconnect(httpScope);
        response = this.errorResponse(error, httpScope, "in the route handler");
        body = response.renderBody();
      }

      await sendRenderedResponse(send, response, body, httpScope.method === "HEAD");
    };
  }

  /** The innermost app of a WebSocket route: runs the handler and closes the socket after it. */
  private websocketEndpoint(handler: WebSocketRouteHandler): ASGIApp {
    return async (scope, receive, send) => {
      const socket = new WebSocket(scope as WebSocketScope, receive, send);

      try {
        await handler.fn(socket);
      } catch (error) {
        if (isDisconnect(error)) return this.logDisconnect(socket.scope);
        return this.closeAfterError(socket, error);
      }

      if (socket.applicationState === "CONNECTED") await socket.close();
    };
  }

  // ---- HTTP ---------------------------------------------------------------------------------

  private async handleHTTP(scope: HTTPScope, receive: Receive, send: Send): Promise<void> {
    const lookup = this.router.lookup(routingPath(scope), scope.method);

    if (!lookup.found)
      return this.sendOutsideRoute(this.routingFailure(scope, lookup.allow), scope, send);

    scope.route_handler = lookup.compiled.handler;
    scope.path_params = lookup.params;
    scope.app = this;

    let started = false;
    const trackedSend: Send = (message) => {
      if (message.type === "http.response.start") started = true;
      return send(message);
    };

    try {
      await lookup.compiled.app(scope, receive, trackedSend);
    } catch (error) {
      if (isDisconnect(error)) return this.logDisconnect(scope);
      if (started) return this.logIncompleteResponse(error, scope);

      await this.sendOutsideRoute(
        this.errorResponse(error, scope, "while handling the request"),
        scope,
        send,
      );
    }
  }

  /** Sends a response that no route produced, treating a disconnect as the normal end. */
  private async sendOutsideRoute(response: Response, scope: HTTPScope, send: Send): Promise<void> {
    try {
      await response.send(send, { head: scope.method === "HEAD" });
    } catch (error) {
      if (!isDisconnect(error)) throw error;
      this.logDisconnect(scope);
    }
  }

  /** Builds a 404, a 405 with `allow`, or the automatic 204 response to OPTIONS. */
  private routingFailure(scope: HTTPScope, allow: string | null): Response {
    if (allow === null) return exceptionResponse(new HTTPException(404, "Not Found"));
    if (scope.method === "OPTIONS") return new Response(null, { status: 204, headers: { allow } });

    return exceptionResponse(new HTTPException(405, "Method Not Allowed", { headers: { allow } }));
  }

  /**
   * Renders an error as Litestar does: `{ status_code, detail }` as JSON. An `HTTPException`
   * keeps its status, detail and headers. Anything else is logged and becomes a 500 with a
   * generic detail, unless `debug` is set. `origin` names where the error was caught, such as
   * "in the route handler", since middleware errors arrive here too.
   */
  private errorResponse(error: unknown, scope: ConnectionScope, origin: string): Response {
    if (error instanceof HTTPException) {
      if (error.statusCode >= 500)
        this.logError(error, scope, `HTTPException ${error.statusCode} raised ${origin}`);
      return exceptionResponse(error);
    }

    this.logError(error, scope, `unhandled error ${origin}, sending 500`);
    if (!this.debug) return exceptionResponse(new HTTPException(500, "Internal Server Error"));

    const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const stack = error instanceof Error ? error.stack : undefined;
    return new Response({ status_code: 500, detail, stack }, { status: 500 });
  }

  // ---- WebSocket ----------------------------------------------------------------------------

  private async handleWebSocket(
    scope: WebSocketScope,
    receive: Receive,
    send: Send,
  ): Promise<void> {
    const lookup = this.router.lookup(routingPath(scope), "websocket");

    if (!lookup.found) return this.rejectWebSocket(scope, send);

    scope.route_handler = lookup.compiled.handler;
    scope.path_params = lookup.params;
    scope.app = this;

    let closed = false;
    const trackedSend: Send = (message) => {
      if (message.type === "websocket.close" || isDenialResponse(message)) closed = true;
      return send(message);
    };

    try {
      await lookup.compiled.app(scope, receive, trackedSend);
    } catch (error) {
      if (isDisconnect(error)) return this.logDisconnect(scope);

      this.logError(error, scope, "unhandled error in WebSocket middleware, closing with 1011");
      if (!closed) await sendQuietly(send, { type: "websocket.close", code: 1011, reason: "" });
    }
  }

  /**
   * Refuses a WebSocket handshake for an unknown path: with a 404 response when the server
   * supports the denial extension, otherwise with a close, which the server turns into 403.
   */
  private async rejectWebSocket(scope: WebSocketScope, send: Send): Promise<void> {
    if (scope.extensions?.["websocket.http.response"] === undefined) {
      return send({ type: "websocket.close", code: 1000, reason: "" });
    }

    const response = exceptionResponse(new HTTPException(404, "Not Found"));
    const body = response.renderBody();

    await send({
      type: "websocket.http.response.start",
      status: 404,
      headers: response.renderHeaders(body.byteLength),
    });
    await send({ type: "websocket.http.response.body", body });
  }

  /**
   * Closes a socket whose handler failed. An `HTTPException` closes with 4000 plus its status
   * and its detail as the reason, where Litestar sends 4500 for all of them. Any other error is
   * logged and closes with 1011, which RFC 6455 defines as an internal server error.
   */
  private async closeAfterError(socket: WebSocket, error: unknown): Promise<void> {
    const isHTTPError = error instanceof HTTPException;

    if (!isHTTPError || error.statusCode >= 500) {
      this.logError(error, socket.scope, "unhandled error in the WebSocket handler, closing it");
    }

    if (socket.applicationState === "DISCONNECTED") return;

    const code = isHTTPError ? 4000 + error.statusCode : 1011;
    const reason = isHTTPError ? truncateReason(error.message) : "";
    await socket.close(code, reason).catch((closeError: unknown) => {
      if (!isDisconnect(closeError)) throw closeError;
    });
  }

  // ---- Lifespan -----------------------------------------------------------------------------

  /** Runs the lifespan protocol: startup hooks, then shutdown hooks, then returns. */
  private async handleLifespan(scope: LifespanScope, receive: Receive, send: Send): Promise<void> {
    for (;;) {
      const message = await receive();

      if (message.type === "lifespan.startup") {
        const failure = await this.runHooks("startup", this.onStartup);
        if (scope.state !== undefined) Object.assign(scope.state, this.state);

        if (failure === null) await send({ type: "lifespan.startup.complete" });
        else return send({ type: "lifespan.startup.failed", message: failure });
        continue;
      }

      if (message.type === "lifespan.shutdown") {
        const failure = await this.runHooks("shutdown", this.onShutdown);

        if (failure === null) return send({ type: "lifespan.shutdown.complete" });
        return send({ type: "lifespan.shutdown.failed", message: failure });
      }

      throw new ASGIProtocolError(`unexpected ${message.type} message on a lifespan scope`);
    }
  }

  /** Runs hooks in order and stops at the first failure, returning its message. */
  private async runHooks(
    phase: "startup" | "shutdown",
    hooks: readonly LifespanHook[],
  ): Promise<string | null> {
    for (const hook of hooks) {
      try {
        await hook(this);
      } catch (error) {
        this.logger.error({ err: error, hook: hook.name || "anonymous" }, `${phase} hook failed`);
        return error instanceof Error ? error.message : String(error);
      }
    }

    return null;
  }

  // ---- Logging ------------------------------------------------------------------------------

  private logError(error: unknown, scope: ConnectionScope, message: string): void {
    const method = scope.type === "http" ? scope.method : "WEBSOCKET";
    this.logger.error(
      { err: error, method, path: scope.path, route: scope.route_handler?.path },
      message,
    );
  }

  private logIncompleteResponse(error: unknown, scope: HTTPScope): void {
    this.logError(
      error,
      scope,
      "unhandled error after the response started; the response is left incomplete",
    );
  }

  private logDisconnect(scope: ConnectionScope): void {
    this.logger.debug({ path: scope.path }, "the client disconnected before the response ended");
  }
}

/** Returns `app.asgi` for an `App`, or the function itself for a plain ASGI app. */
export function toASGIApp(app: App | ASGIApp): ASGIApp {
  if (typeof app === "function") return app;
  if (app instanceof App) return app.asgi;

  throw new ImproperlyConfiguredException(
    `expected an App or an ASGI app function (scope, receive, send), got ${typeof app}`,
  );
}

function exceptionResponse(error: HTTPException): Response {
  return new Response(
    { status_code: error.statusCode, detail: error.message },
    { status: error.statusCode, headers: error.headers },
  );
}

/** Returns the request path relative to the root path, normalized like route templates. */
function routingPath(scope: ConnectionScope): string {
  const rootPath = scope.root_path;
  const path =
    rootPath && scope.path.startsWith(rootPath) ? scope.path.slice(rootPath.length) : scope.path;

  return normalizePath(path);
}

function isDisconnect(error: unknown): boolean {
  return error instanceof ClientDisconnectedError || error instanceof WebSocketDisconnect;
}

function isDenialResponse(message: SendMessage): boolean {
  return message.type === "websocket.http.response.start";
}

/** RFC 6455 section 5.5: a close frame's reason fits in 123 bytes of UTF-8. */
function truncateReason(reason: string): string {
  const bytes = Buffer.from(reason, "utf8");
  if (bytes.byteLength <= 123) return reason;

  return bytes
    .subarray(0, 123)
    .toString("utf8")
    .replace(/\uFFFD$/, "");
}

async function sendQuietly(send: Send, message: SendMessage): Promise<void> {
  try {
    await send(message);
  } catch {
    // The connection is already closed, so the close frame cannot be delivered.
  }
}

function toStoreRegistry(stores: AppOptions["stores"]): StoreRegistry {
  if (stores instanceof StoreRegistry) return stores;
  if (stores === undefined) return new StoreRegistry();

  if (stores === null || typeof stores !== "object") {
    throw new ImproperlyConfiguredException(
      `stores must be a StoreRegistry or an object of name to store, got ${typeof stores}`,
    );
  }

  return new StoreRegistry({ stores });
}

function validateRouteHandlers(handlers: unknown): readonly RouteHandler[] {
  if (!Array.isArray(handlers)) {
    throw new ImproperlyConfiguredException(
      "routeHandlers must be an array of handlers built with get(), post(), websocket() and " +
        `the like, got ${typeof handlers}`,
    );
  }

  handlers.forEach((handler, index) => {
    if (!(handler instanceof HTTPRouteHandler) && !(handler instanceof WebSocketRouteHandler)) {
      throw new ImproperlyConfiguredException(
        `routeHandlers[${index}] is not a route handler; build it with get(path, fn), ` +
          "post(path, fn), websocket(path, fn) or another route function",
      );
    }
  });

  return handlers as RouteHandler[];
}

function validateDebug(debug: unknown): boolean {
  if (typeof debug !== "boolean") {
    throw new ImproperlyConfiguredException(
      `debug must be true or false, got ${describeValue(debug)}; it sends error stacks to ` +
        'clients, so convert strings such as environment variables first (value === "true")',
    );
  }

  return debug;
}

function validateList<T>(name: string, value: readonly T[] | undefined): readonly T[] {
  if (value === undefined) return [];
  if (Array.isArray(value)) return value;

  throw new ImproperlyConfiguredException(`${name} must be an array, got ${typeof value}`);
}

function validateHooks(
  name: string,
  hooks: readonly LifespanHook[] | undefined,
): readonly LifespanHook[] {
  const list = validateList(name, hooks);

  list.forEach((hook, index) => {
    if (typeof hook !== "function") {
      throw new ImproperlyConfiguredException(
        `${name}[${index}] must be a function that receives the app, got ${typeof hook}`,
      );
    }
  });

  return list;
}
