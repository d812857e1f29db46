import { ImproperlyConfiguredException } from "../exceptions";
import type { ASGIApp, Receive, RouteHandlerInfo, Scope, ScopeType, Send } from "../types/asgi";
import { buildExcludePathPattern, shouldBypassMiddleware, type BypassRules } from "./exclude";

const ALL_SCOPES: readonly ScopeType[] = ["http", "websocket", "lifespan"];
const CONNECTION_SCOPES: readonly ScopeType[] = ["http", "websocket"];

/** A middleware object that wraps the next app, such as `ASGIMiddleware` or `DefineMiddleware`. */
export interface WrappingMiddleware {
  wrap(app: ASGIApp): ASGIApp;
}

/**
 * Anything `App` and `wrapMiddleware` accept as middleware: an object with `wrap(app)`, or a
 * function that takes the next app and returns the wrapped one.
 */
export type Middleware = WrappingMiddleware | ((app: ASGIApp) => ASGIApp);

function toScopeSet(scopes: Iterable<ScopeType>, owner: string): ReadonlySet<ScopeType> {
  const set = new Set(scopes);

  for (const scope of set) {
    if (!ALL_SCOPES.includes(scope)) {
      throw new ImproperlyConfiguredException(
        `scopes of ${owner} contains ${JSON.stringify(scope)}; use "http", "websocket" or ` +
          `"lifespan"`,
      );
    }
  }

  return set;
}

/**
 * Litestar's `ASGIMiddleware`: subclass it, implement `handle`, and set `scopes`,
 * `excludePathPattern`, `excludeOptKey` or `shouldBypassForScope` to skip it. One instance
 * serves every request, so keep per-request state inside `handle`.
 */
export abstract class ASGIMiddleware {
  scopes: Iterable<ScopeType> = ALL_SCOPES;
  excludePathPattern: string | readonly string[] | null = null;
  excludeOptKey: string | null = null;
  shouldBypassForScope: ((scope: Scope) => boolean) | null = null;
  private compiledRules?: BypassRules;

  abstract handle(scope: Scope, receive: Receive, send: Send, nextApp: ASGIApp): Promise<void>;

  /**
   * Returns true when this middleware never runs for `handler`, so `App` can leave it out of
   * that route's stack. The path is matched against the handler's path template.
   */
  shouldBypassForHandler(handler: RouteHandlerInfo & { type?: ScopeType }): boolean {
    const rules = this.bypassRules();

    if (handler.type !== undefined && !rules.scopes.has(handler.type)) return true;
    if (rules.excludeOptKey !== null && handler.opt[rules.excludeOptKey]) return true;

    const path = handler.path;
    return rules.excludePathPattern !== null && path !== undefined
      ? rules.excludePathPattern.test(path)
      : false;
  }

  /** Builds the ASGI app that runs `handle` in front of `app`. */
  wrap(app: ASGIApp): ASGIApp {
    const rules = this.bypassRules();
    const bypassForScope = this.shouldBypassForScope;

    return (scope, receive, send) => {
      if (shouldBypassMiddleware(scope, rules)) return app(scope, receive, send);
      if (bypassForScope !== null && bypassForScope(scope)) return app(scope, receive, send);

      return this.handle(scope, receive, send, app);
    };
  }

  /**
   * Compiles `scopes`, `excludeOptKey` and `excludePathPattern` on first use, so a subclass can
   * set them in its constructor, and a pattern that excludes everything is reported once.
   */
  private bypassRules(): BypassRules {
    if (this.compiledRules !== undefined) return this.compiledRules;

    const name = this.constructor.name;
    this.compiledRules = {
      scopes: toScopeSet(this.scopes, name),
      excludeOptKey: this.excludeOptKey,
      excludePathPattern: buildExcludePathPattern(this.excludePathPattern, name),
    };

    return this.compiledRules;
  }
}

export interface AbstractMiddlewareOptions {
  /**
   * A pattern or patterns searched for in the request path, or one compiled expression; a
   * match skips the middleware.
   */
  exclude?: string | readonly string[] | RegExp | null;
  /** A route handler whose `opt[excludeOptKey]` is truthy skips the middleware. */
  excludeOptKey?: string | null;
  /** Scope types the middleware handles; both `http` and `websocket` by default. */
  scopes?: Iterable<ScopeType>;
}

/**
 * Litestar's `AbstractMiddleware`: built once around the next app, with the exclusion rules
 * checked before every call to `handle`. Turn an instance into an ASGI app with `asApp()`.
 */
export abstract class AbstractMiddleware {
  readonly app: ASGIApp;
  readonly scopes: ReadonlySet<ScopeType>;
  readonly excludeOptKey: string | null;
  readonly excludePattern: RegExp | null;
  private readonly rules: BypassRules;

  constructor(app: ASGIApp, options: AbstractMiddlewareOptions = {}) {
    const name = new.target.name;

    this.app = app;
    this.scopes = toScopeSet(options.scopes ?? CONNECTION_SCOPES, name);
    this.excludeOptKey = options.excludeOptKey ?? null;
    this.excludePattern = buildExcludePathPattern(options.exclude, name);
    this.rules = {
      scopes: this.scopes,
      excludeOptKey: this.excludeOptKey,
      excludePathPattern: this.excludePattern,
    };
  }

  abstract handle(scope: Scope, receive: Receive, send: Send): Promise<void>;

  /** Returns this middleware as an ASGI app that applies the exclusion rules first. */
  asApp(): ASGIApp {
    return (scope, receive, send) => {
      if (shouldBypassMiddleware(scope, this.rules)) return this.app(scope, receive, send);
      return this.handle(scope, receive, send);
    };
  }
}

type AbstractMiddlewareClass<A extends unknown[]> = abstract new (
  app: ASGIApp,
  ...args: A
) => AbstractMiddleware;
type MiddlewareFactory<A extends unknown[]> = (app: ASGIApp, ...args: A) => ASGIApp;

/**
 * Litestar's `DefineMiddleware`: a middleware class or factory with the arguments to build it
 * with, applied later to the next app by `wrap(app)`.
 */
export class DefineMiddleware<A extends unknown[] = unknown[]> {
  readonly middleware: AbstractMiddlewareClass<A> | MiddlewareFactory<A>;
  readonly args: A;

  constructor(middleware: AbstractMiddlewareClass<A> | MiddlewareFactory<A>, ...args: A) {
    this.middleware = middleware;
    this.args = args;
  }

  /** Builds the middleware around `app` and returns the resulting ASGI app. */
  wrap(app: ASGIApp): ASGIApp {
    const middleware = this.middleware;

    if (middleware.prototype instanceof AbstractMiddleware) {
      const MiddlewareClass = middleware as unknown as new (
        app: ASGIApp,
        ...args: A
      ) => AbstractMiddleware;
      return new MiddlewareClass(app, ...this.args).asApp();
    }

    return (middleware as MiddlewareFactory<A>)(app, ...this.args);
  }
}

/** Applies one middleware of any accepted form to `app`. */
export function wrapMiddleware(middleware: Middleware, app: ASGIApp): ASGIApp {
  if (typeof middleware === "function") {
    if (middleware.prototype instanceof AbstractMiddleware) {
      throw new ImproperlyConfiguredException(
        `middleware ${middleware.name} is an AbstractMiddleware class; pass ` +
          `new DefineMiddleware(${middleware.name}, ...options) instead`,
      );
    }

    return middleware(app);
  }
  if (
    middleware !== null &&
    typeof middleware === "object" &&
    typeof middleware.wrap === "function"
  ) {
    return middleware.wrap(app);
  }

  throw new ImproperlyConfiguredException(
    `middleware must be an ASGIMiddleware, a DefineMiddleware or a function (app) => app, got ` +
      `${middleware === null ? "null" : typeof middleware}`,
  );
}

/** Applies middleware so that the first in the list is the outermost, as Litestar orders it. */
export function buildMiddlewareStack(middleware: readonly Middleware[], app: ASGIApp): ASGIApp {
  let stacked = app;

  for (let i = middleware.length - 1; i >= 0; i--) {
    stacked = wrapMiddleware(middleware[i], stacked);
  }

  return stacked;
}
