import { expect } from "chai";

import { ImproperlyConfiguredException } from "../../lib/exceptions";
import { buildExcludePathPattern, shouldBypassMiddleware } from "../../lib/middleware/exclude";
import { httpScope, websocketScope } from "../app/fixtures";

/** Collects the process warnings emitted while `action` runs. */
async function captureWarnings(action: () => void): Promise<Error[]> {
  const warnings: Error[] = [];
  const listener = (warning: Error) => warnings.push(warning);
  process.on("warning", listener);

  try {
    action();
    // Node emits process warnings on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off("warning", listener);
  }

  return warnings;
}

describe("buildExcludePathPattern", () => {
  it("returns null for null", () => {
    expect(buildExcludePathPattern(null)).to.equal(null);
    expect(buildExcludePathPattern(undefined)).to.equal(null);
  });

  it("excludes nothing for empty list", () => {
    expect(buildExcludePathPattern([])).to.equal(null);
  });

  it("excludes nothing for empty string", () => {
    expect(buildExcludePathPattern("")).to.equal(null);
    expect(buildExcludePathPattern(["", ""])).to.equal(null);
  });

  it("searches without anchoring", () => {
    const pattern = buildExcludePathPattern("static")!;

    expect(pattern.test("/app/static/x.css")).to.equal(true);
    expect(pattern.test("/app/other")).to.equal(false);
  });

  it("combines several patterns", () => {
    const pattern = buildExcludePathPattern(["^/health$", "^/metrics"])!;

    expect(pattern.test("/health")).to.equal(true);
    expect(pattern.test("/metrics/cpu")).to.equal(true);
    expect(pattern.test("/healthz")).to.equal(false);
  });

  it("keeps alternation inside each pattern", () => {
    const pattern = buildExcludePathPattern(["^/a$|^/b$", "^/c$"])!;

    expect(pattern.test("/b")).to.equal(true);
    expect(pattern.test("/c")).to.equal(true);
    expect(pattern.test("/ab")).to.equal(false);
  });

  it("rejects invalid regex naming it", () => {
    expect(() => buildExcludePathPattern(["^/ok", "(unclosed"], "MyMiddleware"))
      .to.throw(ImproperlyConfiguredException)
      .with.property("message")
      .that.contains('"(unclosed"')
      .and.contains("MyMiddleware");
  });

  it("returns a RegExp unchanged", () => {
    const pattern = /^\/health/;

    expect(buildExcludePathPattern(pattern)).to.equal(pattern);
  });

  it("rejects a pattern that is not a string", () => {
    expect(() => buildExcludePathPattern(["/a", 5 as unknown as string], "Spy"))
      .to.throw(ImproperlyConfiguredException)
      .with.property("message")
      .that.matches(/exclude pattern 5 of Spy is not a string/);
  });

  it("warns when matching every path", async () => {
    const warnings = await captureWarnings(() => buildExcludePathPattern(".*", "Everything"));

    expect(warnings).to.have.length(1);
    expect(warnings[0].message).to.contain("Everything");
    expect((warnings[0] as Error & { code?: string }).code).to.equal(
      "UWS_ASGI_MIDDLEWARE_EXCLUDED_EVERYWHERE",
    );
  });

  it("does not warn for narrow pattern", async () => {
    const warnings = await captureWarnings(() => buildExcludePathPattern("^/static"));

    expect(warnings).to.have.length(0);
  });
});

describe("shouldBypassMiddleware", () => {
  const rules = {
    scopes: new Set(["http"] as const),
    excludeOptKey: "skip",
    excludePathPattern: /^\/public/,
  };

  it("bypasses unhandled scope type", () => {
    expect(shouldBypassMiddleware(websocketScope("/x"), rules)).to.equal(true);
  });

  it("bypasses excluded path", () => {
    expect(shouldBypassMiddleware(httpScope("/public/a"), rules)).to.equal(true);
  });

  it("bypasses truthy opt key", () => {
    const scope = httpScope("/x");
    scope.route_handler = { opt: { skip: true } };

    expect(shouldBypassMiddleware(scope, rules)).to.equal(true);
  });

  it("runs for falsy opt key", () => {
    const scope = httpScope("/x");
    scope.route_handler = { opt: { skip: false } };

    expect(shouldBypassMiddleware(scope, rules)).to.equal(false);
  });

  it("bypasses excluded method", () => {
    const withMethods = { ...rules, excludeHttpMethods: new Set(["OPTIONS"]) };

    expect(shouldBypassMiddleware(httpScope("/x", { method: "OPTIONS" }), withMethods)).to.equal(
      true,
    );
    expect(shouldBypassMiddleware(httpScope("/x"), withMethods)).to.equal(false);
  });
});
