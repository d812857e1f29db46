import { validateMaxBodySize, type Request } from "../connection/request";
import type { WebSocket } from "../connection/websocket";
import { ImproperlyConfiguredException } from "../exceptions";
import type { Middleware } from "../middleware/base";
import type { RouteHandlerInfo } from "../types/asgi";
import { compilePathTemplate, type PathTemplate } from "./path";
import type { ResponseLike } from "./response";

export type HTTPHandlerFunction = (request: Request) => ResponseLike | Promise<ResponseLike>;
export type WebSocketHandlerFunction = (socket: WebSocket) => void | Promise<void>;

/** Options every route handler accepts. */
export interface RouteHandlerOptions {
  /** A unique name for the route; default none. */
  name?: string;
  /** Free-form options that middleware reads, such as `{ skip_session: true }`. */
  opt?: Record<string, unknown>;
  /** Middleware for this route only, inside the app's middleware; the first is outermost. */
  middleware?: readonly Middleware[];
}

export interface HTTPRouteHandlerOptions extends RouteHandlerOptions {
  /**
   * Status for content returned without a `Response`. Default as in Litestar: 201 for POST,
   * 204 for DELETE, 200 otherwise.
   */
  statusCode?: number;
  /** Media type for content returned without a `Response`; default from the content. */
  mediaType?: string;
  /** Largest request body in bytes; default the app's `maxBodySize`. */
  maxBodySize?: number;
}

const HTTP_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** Base of both handler types: the path template, the shared options and their validation. */
abstract class BaseRouteHandler implements RouteHandlerInfo {
  abstract readonly type: "http" | "websocket";
  readonly path: string;
  readonly template: PathTemplate;
  readonly name: string | undefined;
  readonly opt: Readonly<Record<string, unknown>>;
  readonly middleware: readonly Middleware[];

  constructor(path: string, handler: unknown, options: RouteHandlerOptions) {
    this.template = compilePathTemplate(path);
    this.path = this.template.path;
    this.name = validateName(options.name);
    this.opt = Object.freeze({ ...validateOpt(options.opt) });
    this.middleware = Object.freeze([...validateMiddleware(options.middleware)]);

    if (typeof handler !== "function") {
      throw new ImproperlyConfiguredException(
        `the handler for ${JSON.stringify(path)} must be a function, got ${typeof handler}`,
      );
    }
  }
}

/** An HTTP route: a path, its methods and the function that handles them. */
export class HTTPRouteHandler extends BaseRouteHandler {
  readonly type = "http" as const;
  readonly methods: ReadonlySet<string>;
  readonly fn: HTTPHandlerFunction;
  readonly statusCode: number;
  readonly mediaType: string | undefined;
  readonly maxBodySize: number | undefined;

  constructor(
    methods: readonly string[],
    path: string,
    fn: HTTPHandlerFunction,
    options: HTTPRouteHandlerOptions = {},
  ) {
    super(path, fn, options);
    this.methods = validateMethods(methods);
    this.fn = fn;
    this.statusCode = validateStatusCode(options.statusCode ?? defaultStatusCode(this.methods));
    this.mediaType = options.mediaType;
    this.maxBodySize =
      options.maxBodySize === undefined ? undefined : validateMaxBodySize(options.maxBodySize);
    Object.freeze(this);
  }
}

/** A WebSocket route: a path and the function that runs for each connection. */
export class WebSocketRouteHandler extends BaseRouteHandler {
  readonly type = "websocket" as const;
  readonly fn: WebSocketHandlerFunction;

  constructor(path: string, fn: WebSocketHandlerFunction, options: RouteHandlerOptions = {}) {
    super(path, fn, options);
    this.fn = fn;
    Object.freeze(this);
  }
}

export type RouteHandler = HTTPRouteHandler | WebSocketRouteHandler;

/** Creates a route for several methods, such as `["GET", "POST"]`, as Litestar's `route`. */
export function route(
  methods: readonly string[],
  path: string,
  fn: HTTPHandlerFunction,
  options?: HTTPRouteHandlerOptions,
): HTTPRouteHandler {
  return new HTTPRouteHandler(methods, path, fn, options);
}

/** Creates a GET route. It serves HEAD too, with the same headers and no body. */
export function get(
  path: string,
  fn: HTTPHandlerFunction,
  options?: HTTPRouteHandlerOptions,
): HTTPRouteHandler {
  return new HTTPRouteHandler(["GET"], path, fn, options);
}

/** Creates a POST route. Plain content is sent with 201 Created unless `statusCode` is set. */
export function post(
  path: string,
  fn: HTTPHandlerFunction,
  options?: HTTPRouteHandlerOptions,
): HTTPRouteHandler {
  return new HTTPRouteHandler(["POST"], path, fn, options);
}

/** Creates a PUT route. */
export function put(
  path: string,
  fn: HTTPHandlerFunction,
  options?: HTTPRouteHandlerOptions,
): HTTPRouteHandler {
  return new HTTPRouteHandler(["PUT"], path, fn, options);
}

/** Creates a PATCH route. */
export function patch(
  path: string,
  fn: HTTPHandlerFunction,
  options?: HTTPRouteHandlerOptions,
): HTTPRouteHandler {
  return new HTTPRouteHandler(["PATCH"], path, fn, options);
}

/**
 * Creates a DELETE route, named `del` because `delete` is a reserved word in JavaScript.
 * Plain content is sent with 204 No Content unless `statusCode` is set, so return null.
 */
export function del(
  path: string,
  fn: HTTPHandlerFunction,
  options?: HTTPRouteHandlerOptions,
): HTTPRouteHandler {
  return new HTTPRouteHandler(["DELETE"], path, fn, options);
}

/** Creates a WebSocket route. The function receives the socket before it is accepted. */
export function websocket(
  path: string,
  fn: WebSocketHandlerFunction,
  options?: RouteHandlerOptions,
): WebSocketRouteHandler {
  return new WebSocketRouteHandler(path, fn, options);
}

function defaultStatusCode(methods: ReadonlySet<string>): number {
  if (methods.size === 1 && methods.has("POST")) return 201;
  if (methods.size === 1 && methods.has("DELETE")) return 204;

  return 200;
}

function validateMethods(methods: readonly string[]): ReadonlySet<string> {
  if (!Array.isArray(methods) || methods.length === 0) {
    throw new ImproperlyConfiguredException(
      `route methods must be a non-empty list such as ["GET", "POST"], got ` +
        JSON.stringify(methods),
    );
  }

  const normalized = new Set<string>();

  for (const method of methods) {
    const upper = typeof method === "string" ? method.toUpperCase() : "";

    if (!HTTP_METHODS.has(upper)) {
      throw new ImproperlyConfiguredException(
        `route method ${JSON.stringify(method)} is not supported; use one of ` +
          [...HTTP_METHODS].join(", "),
      );
    }
    normalized.add(upper);
  }

  return normalized;
}

function validateStatusCode(statusCode: number): number {
  if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) {
    throw new ImproperlyConfiguredException(
      `statusCode must be an integer from 100 to 599, got ${String(statusCode)}`,
    );
  }

  return statusCode;
}

function validateName(name: unknown): string | undefined {
  if (name === undefined) return undefined;
  if (typeof name === "string" && name !== "") return name;

  throw new ImproperlyConfiguredException(
    `route name must be a non-empty string, got ${JSON.stringify(name)}`,
  );
}

function validateOpt(opt: unknown): Record<string, unknown> {
  if (opt === undefined) return {};
  if (opt !== null && typeof opt === "object" && !Array.isArray(opt)) {
    return opt as Record<string, unknown>;
  }

  throw new ImproperlyConfiguredException(
    `route opt must be an object such as { skip_session: true }, got ${JSON.stringify(opt)}`,
  );
}

function validateMiddleware(middleware: unknown): readonly Middleware[] {
  if (middleware === undefined) return [];
  if (Array.isArray(middleware)) return middleware as Middleware[];

  throw new ImproperlyConfiguredException(
    `route middleware must be an array, got ${typeof middleware}; wrap a single middleware ` +
      "in [ ]",
  );
}
