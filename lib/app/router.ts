import { ImproperlyConfiguredException } from "../exceptions";
import type { ASGIApp } from "../types/asgi";
import type { HTTPRouteHandler, RouteHandler, WebSocketRouteHandler } from "./handlers";
import { compareTemplates, matchPathTemplate, type PathTemplate } from "./path";

/** A route handler with the middleware stack built around it. */
export interface CompiledHandler<H extends RouteHandler = RouteHandler> {
  readonly handler: H;
  readonly app: ASGIApp;
}

/** The result of a lookup: a handler, or the methods the path does allow. */
export type RouteLookup =
  | { found: true; compiled: CompiledHandler; params: Record<string, unknown> }
  | { found: false; allow: string | null };

const NOT_FOUND: RouteLookup = Object.freeze({ found: false, allow: null });

/** Every handler registered under one path template. */
class Route {
  readonly template: PathTemplate;
  readonly http = new Map<string, CompiledHandler<HTTPRouteHandler>>();
  websocket: CompiledHandler<WebSocketRouteHandler> | null = null;

  constructor(template: PathTemplate) {
    this.template = template;
  }

  add(compiled: CompiledHandler): void {
    const handler = compiled.handler;

    if (handler.type === "websocket") {
      if (this.websocket !== null) throw duplicateRoute(this.template.path, "websocket");
      this.websocket = compiled as CompiledHandler<WebSocketRouteHandler>;
      return;
    }

    for (const method of handler.methods) {
      if (this.http.has(method)) throw duplicateRoute(this.template.path, method);
      this.http.set(method, compiled as CompiledHandler<HTTPRouteHandler>);
    }
  }

  /** Returns the handler for an HTTP method or "websocket". A GET handler also serves HEAD. */
  find(key: string): CompiledHandler | null {
    if (key === "websocket") return this.websocket;

    const compiled = this.http.get(key);
    if (compiled !== undefined) return compiled;

    return key === "HEAD" ? (this.http.get("GET") ?? null) : null;
  }

  addAllowedMethods(allowed: Set<string>): void {
    for (const method of this.http.keys()) allowed.add(method);
    if (this.http.has("GET")) allowed.add("HEAD");
    if (this.http.size > 0) allowed.add("OPTIONS");
  }
}

/**
 * Maps request paths to handlers: an exact lookup for static paths first, then the compiled
 * templates, most specific first. Both the routes and the request path are normalized.
 */
export class Router {
  private readonly staticRoutes = new Map<string, Route>();
  /** Dynamic routes whose first segment is a literal, by that segment. */
  private readonly dynamicByFirstSegment = new Map<string, Route[]>();
  /** Dynamic routes that start with a parameter, tried after the literal ones. */
  private readonly parameterFirstRoutes: Route[] = [];

  /** @throws ImproperlyConfiguredException when a path and method are registered twice. */
  constructor(handlers: readonly CompiledHandler[]) {
    const routes = new Map<string, Route>();

    for (const compiled of handlers) {
      const template = compiled.handler.template;
      let route = routes.get(template.path);

      if (route === undefined) {
        route = new Route(template);
        routes.set(template.path, route);
      }
      route.add(compiled);
    }

    // Array.prototype.sort is stable, so equally specific routes keep their order.
    const ordered = [...routes.values()].sort((a, b) => compareTemplates(a.template, b.template));

    for (const route of ordered) {
      if (route.template.pattern === null) {
        this.staticRoutes.set(route.template.path, route);
      } else if (route.template.ranks[0] === 0) {
        const segment = firstSegment(route.template.path);
        const bucket = this.dynamicByFirstSegment.get(segment) ?? [];
        bucket.push(route);
        this.dynamicByFirstSegment.set(segment, bucket);
      } else {
        this.parameterFirstRoutes.push(route);
      }
    }
  }

  /**
   * Finds the handler for a normalized path and an HTTP method or "websocket". When the path
   * exists but not for that method, the lookup carries an `allow` header value.
   */
  lookup(path: string, key: string): RouteLookup {
    const staticRoute = this.staticRoutes.get(path);
    const staticHandler = staticRoute?.find(key) ?? null;
    if (staticHandler !== null) return { found: true, compiled: staticHandler, params: {} };

    const allowed = new Set<string>();
    staticRoute?.addAllowedMethods(allowed);

    const bucket = this.dynamicByFirstSegment.get(firstSegment(path));
    const found =
      (bucket !== undefined ? matchRoutes(bucket, path, key, allowed) : null) ??
      matchRoutes(this.parameterFirstRoutes, path, key, allowed);
    if (found !== null) return found;

    if (allowed.size === 0) return NOT_FOUND;
    return { found: false, allow: [...allowed].sort().join(", ") };
  }
}

/** Returns the first route in `routes` that matches `path` and handles `key`. */
function matchRoutes(
  routes: readonly Route[],
  path: string,
  key: string,
  allowed: Set<string>,
): RouteLookup | null {
  for (const route of routes) {
    const params = matchPathTemplate(route.template, path);
    if (params === null) continue;

    const compiled = route.find(key);
    if (compiled !== null) return { found: true, compiled, params };

    route.addAllowedMethods(allowed);
  }

  return null;
}

/** Returns the first segment of a normalized path: "users" for "/users/1". */
function firstSegment(path: string): string {
  const end = path.indexOf("/", 1);
  return end === -1 ? path.slice(1) : path.slice(1, end);
}

function duplicateRoute(path: string, method: string): ImproperlyConfiguredException {
  return new ImproperlyConfiguredException(
    `two route handlers are registered for ${method} ${path}; remove one or change its path`,
  );
}
