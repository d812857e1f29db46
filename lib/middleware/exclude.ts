import { ImproperlyConfiguredException } from "../exceptions";
import type { Scope, ScopeType } from "../types/asgi";

/** A probe path that no real route would list, used to spot patterns matching every path. */
const PROBE_PATH = "/982c7064-6ac7-44b7-9be5-07a2ff6d8a92";

/**
 * Compiles exclude patterns into one regular expression that is searched for (not anchored)
 * in the request path, as Litestar does. Empty patterns are dropped, so `[]` and `""` exclude
 * nothing; Litestar joins them into an empty pattern that excludes every route. A `RegExp`,
 * such as one compiled here before, is returned as it is.
 *
 * @throws ImproperlyConfiguredException when a pattern is not a string or not a valid regular
 * expression.
 */
export function buildExcludePathPattern(
  exclude: string | readonly string[] | RegExp | null | undefined,
  middlewareName = "middleware",
): RegExp | null {
  if (exclude == null) return null;
  if (exclude instanceof RegExp) return exclude;

  const patterns = (typeof exclude === "string" ? [exclude] : [...exclude]).filter(
    (pattern) => pattern !== "",
  );
  if (patterns.length === 0) return null;

  for (const pattern of patterns) {
    if (typeof pattern !== "string") {
      throw new ImproperlyConfiguredException(
        `exclude pattern ${String(pattern)} of ${middlewareName} is not a string; give each ` +
          "pattern as the source text of a regular expression",
      );
    }

    try {
      new RegExp(pattern);
    } catch (error) {
      throw new ImproperlyConfiguredException(
        `exclude pattern ${JSON.stringify(pattern)} of ${middlewareName} is not a valid ` +
          `regular expression (${(error as Error).message}); escape special characters or fix ` +
          `the pattern`,
      );
    }
  }

  const combined = new RegExp(patterns.map((pattern) => `(?:${pattern})`).join("|"));

  if (combined.test("/") && combined.test(PROBE_PATH)) {
    process.emitWarning(
      `${middlewareName} exclude pattern ${combined.source} matches every path, so the ` +
        `middleware never runs`,
      { code: "UWS_ASGI_MIDDLEWARE_EXCLUDED_EVERYWHERE" },
    );
  }

  return combined;
}

export interface BypassRules {
  scopes: ReadonlySet<ScopeType>;
  excludeOptKey: string | null;
  excludePathPattern: RegExp | null;
  excludeHttpMethods?: ReadonlySet<string> | null;
}

/**
 * Returns true when a middleware must pass `scope` straight to the next app: its type is not
 * handled, the route handler's `opt[excludeOptKey]` is truthy, the method is excluded, or the
 * path matches an exclude pattern.
 */
export function shouldBypassMiddleware(scope: Scope, rules: BypassRules): boolean {
  if (!rules.scopes.has(scope.type)) return true;
  if (scope.type === "lifespan") return false;

  const handler = scope.route_handler;
  if (rules.excludeOptKey !== null && handler !== undefined && handler.opt[rules.excludeOptKey]) {
    return true;
  }

  if (rules.excludeHttpMethods && scope.type === "http") {
    if (rules.excludeHttpMethods.has(scope.method)) return true;
  }

  return rules.excludePathPattern !== null && rules.excludePathPattern.test(scope.path);
}
