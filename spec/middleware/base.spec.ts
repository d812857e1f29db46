import { expect } from "chai";

import { ImproperlyConfiguredException } from "../../lib/exceptions";
import {
  ASGIMiddleware,
  AbstractMiddleware,
  DefineMiddleware,
  buildMiddlewareStack,
  wrapMiddleware,
  type AbstractMiddlewareOptions,
} from "../../lib/middleware/base";
import type { ASGIApp, Receive, Scope, ScopeType, Send } from "../../lib/types/asgi";
import { httpScope, queueReceive, websocketScope } from "../app/fixtures";

const noReceive: Receive = queueReceive([]);
const noSend: Send = async () => undefined;

/** Creates an app that appends `label` to `calls` when it runs. */
function recordingApp(calls: string[], label = "app"): ASGIApp {
  return async () => {
    calls.push(label);
  };
}

class RecordingMiddleware extends ASGIMiddleware {
  constructor(
    private readonly calls: string[],
    private readonly label: string,
    settings: Partial<
      Pick<
        ASGIMiddleware,
        "scopes" | "excludePathPattern" | "excludeOptKey" | "shouldBypassForScope"
      >
    > = {},
  ) {
    super();
    Object.assign(this, settings);
  }

  async handle(scope: Scope, receive: Receive, send: Send, nextApp: ASGIApp): Promise<void> {
    this.calls.push(`${this.label}:before`);
    await nextApp(scope, receive, send);
    this.calls.push(`${this.label}:after`);
  }
}

class RecordingAbstractMiddleware extends AbstractMiddleware {
  constructor(
    app: ASGIApp,
    private readonly calls: string[],
    options?: AbstractMiddlewareOptions,
  ) {
    super(app, options);
  }

  async handle(scope: Scope, receive: Receive, send: Send): Promise<void> {
    this.calls.push("abstract");
    await this.app(scope, receive, send);
  }
}

describe("ASGIMiddleware", () => {
  it("runs handle around next app", async () => {
    const calls: string[] = [];
    const app = new RecordingMiddleware(calls, "m").wrap(recordingApp(calls));
    await app(httpScope("/"), noReceive, noSend);

    expect(calls).to.deep.equal(["m:before", "app", "m:after"]);
  });

  it("skips scope types not listed", async () => {
    const calls: string[] = [];
    const middleware = new RecordingMiddleware(calls, "m", { scopes: ["http"] });
    await middleware.wrap(recordingApp(calls))(websocketScope("/"), noReceive, noSend);

    expect(calls).to.deep.equal(["app"]);
  });

  it("skips excluded request paths", async () => {
    const calls: string[] = [];
    const middleware = new RecordingMiddleware(calls, "m", { excludePathPattern: "^/public" });
    const app = middleware.wrap(recordingApp(calls));
    await app(httpScope("/public/x"), noReceive, noSend);
    await app(httpScope("/private"), noReceive, noSend);

    expect(calls).to.deep.equal(["app", "m:before", "app", "m:after"]);
  });

  it("skips handlers with opt key", async () => {
    const calls: string[] = [];
    const app = new RecordingMiddleware(calls, "m", { excludeOptKey: "skip" }).wrap(
      recordingApp(calls),
    );
    const scope = httpScope("/");
    scope.route_handler = { opt: { skip: true } };
    await app(scope, noReceive, noSend);

    expect(calls).to.deep.equal(["app"]);
  });

  it("skips when shouldBypassForScope is true", async () => {
    const calls: string[] = [];
    const middleware = new RecordingMiddleware(calls, "m", {
      shouldBypassForScope: (scope) => scope.type !== "lifespan" && scope.path.endsWith(".jpg"),
    });
    const app = middleware.wrap(recordingApp(calls));
    await app(httpScope("/a.jpg"), noReceive, noSend);
    await app(httpScope("/a.png"), noReceive, noSend);

    expect(calls).to.deep.equal(["app", "m:before", "app", "m:after"]);
  });

  describe("shouldBypassForHandler", () => {
    const handler = (type: ScopeType, path: string, opt: Record<string, unknown> = {}) => ({
      type,
      path,
      opt,
    });

    it("bypasses unlisted handler type", () => {
      const middleware = new RecordingMiddleware([], "m", { scopes: ["http"] });

      expect(middleware.shouldBypassForHandler(handler("websocket", "/ws"))).to.equal(true);
      expect(middleware.shouldBypassForHandler(handler("http", "/"))).to.equal(false);
    });

    it("matches the path template", () => {
      const middleware = new RecordingMiddleware([], "m", {
        excludePathPattern: "/users/\\{id:int\\}",
      });

      expect(middleware.shouldBypassForHandler(handler("http", "/users/{id:int}"))).to.equal(true);
      expect(middleware.shouldBypassForHandler(handler("http", "/users"))).to.equal(false);
    });

    it("bypasses truthy opt key", () => {
      const middleware = new RecordingMiddleware([], "m", { excludeOptKey: "skip" });

      expect(middleware.shouldBypassForHandler(handler("http", "/", { skip: 1 }))).to.equal(true);
      expect(middleware.shouldBypassForHandler(handler("http", "/", { skip: 0 }))).to.equal(false);
    });
  });

  it("rejects unknown scope type", () => {
    const middleware = new RecordingMiddleware([], "m", {
      scopes: ["http", "grpc" as ScopeType],
    });

    expect(() => middleware.wrap(recordingApp([])))
      .to.throw(ImproperlyConfiguredException)
      .with.property("message")
      .that.contains('"grpc"');
  });

  it("rejects invalid exclude pattern", () => {
    const middleware = new RecordingMiddleware([], "m", { excludePathPattern: "[" });

    expect(() => middleware.wrap(recordingApp([]))).to.throw(
      ImproperlyConfiguredException,
      /RecordingMiddleware/,
    );
  });
});

describe("AbstractMiddleware", () => {
  it("builds through DefineMiddleware", async () => {
    const calls: string[] = [];
    const define = new DefineMiddleware(RecordingAbstractMiddleware, calls);
    await define.wrap(recordingApp(calls))(httpScope("/"), noReceive, noSend);

    expect(calls).to.deep.equal(["abstract", "app"]);
  });

  it("passes options through DefineMiddleware", async () => {
    const calls: string[] = [];
    const define = new DefineMiddleware(RecordingAbstractMiddleware, calls, { exclude: "^/skip" });
    const app = define.wrap(recordingApp(calls));
    await app(httpScope("/skip/me"), noReceive, noSend);
    await app(httpScope("/run"), noReceive, noSend);

    expect(calls).to.deep.equal(["app", "abstract", "app"]);
  });

  it("handles http and websocket by default", async () => {
    const calls: string[] = [];
    const app = new RecordingAbstractMiddleware(recordingApp(calls), calls).asApp();
    await app(httpScope("/"), noReceive, noSend);
    await app(websocketScope("/"), noReceive, noSend);
    await app(
      { type: "lifespan", asgi: { version: "3.0", spec_version: "2.0" }, state: {} },
      noReceive,
      noSend,
    );

    expect(calls).to.deep.equal(["abstract", "app", "abstract", "app", "app"]);
  });

  it("skips by opt key", async () => {
    const calls: string[] = [];
    const app = new RecordingAbstractMiddleware(recordingApp(calls), calls, {
      excludeOptKey: "skip",
    }).asApp();
    const scope = httpScope("/");
    scope.route_handler = { opt: { skip: true } };
    await app(scope, noReceive, noSend);

    expect(calls).to.deep.equal(["app"]);
  });

  it("rejects invalid exclude at construction", () => {
    expect(() => new RecordingAbstractMiddleware(recordingApp([]), [], { exclude: "(" })).to.throw(
      ImproperlyConfiguredException,
      /RecordingAbstractMiddleware/,
    );
  });
});

describe("DefineMiddleware", () => {
  it("calls a factory with its arguments", async () => {
    const calls: string[] = [];
    const factory = (app: ASGIApp, label: string): ASGIApp => {
      return async (scope, receive, send) => {
        calls.push(label);
        await app(scope, receive, send);
      };
    };
    await new DefineMiddleware(factory, "factory").wrap(recordingApp(calls))(
      httpScope("/"),
      noReceive,
      noSend,
    );

    expect(calls).to.deep.equal(["factory", "app"]);
  });
});

describe("buildMiddlewareStack", () => {
  it("makes the first outermost", async () => {
    const calls: string[] = [];
    const plain = (app: ASGIApp): ASGIApp => {
      return async (scope, receive, send) => {
        calls.push("plain");
        await app(scope, receive, send);
      };
    };
    const stack = buildMiddlewareStack(
      [
        new RecordingMiddleware(calls, "first"),
        plain,
        new DefineMiddleware(RecordingAbstractMiddleware, calls),
        new RecordingMiddleware(calls, "last"),
      ],
      recordingApp(calls),
    );
    await stack(httpScope("/"), noReceive, noSend);

    expect(calls).to.deep.equal([
      "first:before",
      "plain",
      "abstract",
      "last:before",
      "app",
      "last:after",
      "first:after",
    ]);
  });

  it("returns the app for empty list", () => {
    const app = recordingApp([]);

    expect(buildMiddlewareStack([], app)).to.equal(app);
  });

  it("rejects an AbstractMiddleware class", () => {
    expect(() => wrapMiddleware(RecordingAbstractMiddleware as never, recordingApp([]))).to.throw(
      ImproperlyConfiguredException,
      /new DefineMiddleware\(RecordingAbstractMiddleware/,
    );
  });

  it("rejects a non-middleware value", () => {
    expect(() => wrapMiddleware({} as never, recordingApp([]))).to.throw(
      ImproperlyConfiguredException,
      /got object/,
    );
  });

  it("wrapMiddleware accepts each form", async () => {
    const calls: string[] = [];
    const app = wrapMiddleware(new RecordingMiddleware(calls, "m"), recordingApp(calls));
    await app(httpScope("/"), noReceive, noSend);

    expect(calls).to.deep.equal(["m:before", "app", "m:after"]);
  });
});
