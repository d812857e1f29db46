import { expect } from "chai";

import { App, toASGIApp } from "../../lib/app/app";
import { get, post, websocket } from "../../lib/app/handlers";
import {
  ClientDisconnectedError,
  HTTPException,
  ImproperlyConfiguredException,
  NotAuthorizedException,
} from "../../lib/exceptions";
import type { Logger } from "../../lib/logger";
import { ASGIMiddleware, DefineMiddleware, AbstractMiddleware } from "../../lib/middleware/base";
import { MemoryStore } from "../../lib/stores/memory";
import { StoreRegistry } from "../../lib/stores/registry";
import type {
  ASGIApp,
  LifespanScope,
  LifespanSendMessage,
  Receive,
  ReceiveMessage,
  Scope,
  Send,
} from "../../lib/types/asgi";
import { callHTTP, httpScope, queueReceive } from "./fixtures";

interface LogEntry {
  level: string;
  context: Record<string, unknown>;
  message?: string;
}

function recordingLogger(): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const record = (level: string) => (context: object, message?: string) => {
    entries.push({ level, context: context as Record<string, unknown>, message });
  };

  return {
    entries,
    debug: record("debug"),
    info: record("info"),
    warn: record("warn"),
    error: record("error"),
  };
}

/** A middleware that records its label and adds it to the response headers. */
class LabelMiddleware extends ASGIMiddleware {
  constructor(
    private readonly label: string,
    private readonly calls: string[],
    settings: Partial<Pick<ASGIMiddleware, "excludePathPattern" | "excludeOptKey" | "scopes">> = {},
  ) {
    super();
    Object.assign(this, settings);
  }

  async handle(scope: Scope, receive: Receive, send: Send, nextApp: ASGIApp): Promise<void> {
    this.calls.push(this.label);
    await nextApp(scope, receive, async (message) => {
      if (message.type === "http.response.start") {
        message.headers = [...(message.headers ?? []), ["x-seen-by", this.label]];
      }
      await send(message);
    });
  }
}

describe("App", () => {
  describe("errors", () => {
    it("renders HTTPException as JSON", async () => {
      const app = new App({
        routeHandlers: [
          get("/", () => {
            throw new NotAuthorizedException("log in first", {
              headers: { "www-authenticate": "x" },
            });
          }),
        ],
        logger: recordingLogger(),
      });
      const response = await callHTTP(app.asgi, "/");

      expect(response.status).to.equal(401);
      expect(response.json()).to.deep.equal({ status_code: 401, detail: "log in first" });
      expect(response.header("www-authenticate")).to.equal("x");
    });

    it("hides unexpected errors", async () => {
      const logger = recordingLogger();
      const app = new App({
        routeHandlers: [
          get("/boom", () => {
            throw new Error("secret detail");
          }),
        ],
        logger,
      });
      const response = await callHTTP(app.asgi, "/boom");

      expect(response.status).to.equal(500);
      expect(response.json()).to.deep.equal({ status_code: 500, detail: "Internal Server Error" });
      expect(response.text).not.to.contain("secret");
    });

    it("logs an unexpected error once", async () => {
      const logger = recordingLogger();
      const error = new Error("boom");
      const app = new App({
        routeHandlers: [
          get("/boom", async () => {
            throw error;
          }),
        ],
        middleware: [new LabelMiddleware("outer", [])],
        logger,
      });
      await callHTTP(app.asgi, "/boom");
      const errors = logger.entries.filter((entry) => entry.level === "error");

      expect(errors).to.have.length(1);
      expect(errors[0].context.err).to.equal(error);
      expect(errors[0].context).to.include({ method: "GET", path: "/boom", route: "/boom" });
      expect(errors[0].message).to.equal("unhandled error in the route handler, sending 500");
    });

    it("shows details in debug mode", async () => {
      const app = new App({
        routeHandlers: [
          get("/", () => {
            throw new TypeError("visible");
          }),
        ],
        debug: true,
        logger: recordingLogger(),
      });
      const body = (await callHTTP(app.asgi, "/")).json() as Record<string, unknown>;

      expect(body.detail).to.equal("TypeError: visible");
      expect(body.stack).to.be.a("string");
    });

    it("does not log client errors", async () => {
      const logger = recordingLogger();
      const app = new App({
        routeHandlers: [
          get("/", () => {
            throw new HTTPException(409, "conflict");
          }),
        ],
        logger,
      });
      await callHTTP(app.asgi, "/");

      expect(logger.entries.filter((entry) => entry.level === "error")).to.have.length(0);
    });

    it("renders middleware errors", async () => {
      const logger = recordingLogger();
      const failing = (): ASGIApp => async () => {
        throw new Error("middleware failed");
      };
      const app = new App({ routeHandlers: [get("/", () => "x")], middleware: [failing], logger });
      const response = await callHTTP(app.asgi, "/");

      const errors = logger.entries.filter((entry) => entry.level === "error");

      expect(response.status).to.equal(500);
      expect(errors).to.have.length(1);
      expect(errors[0].message).to.equal("unhandled error while handling the request, sending 500");
    });

    it("passes error responses through middleware", async () => {
      const app = new App({
        routeHandlers: [
          get("/", () => {
            throw new HTTPException(403, "no");
          }),
        ],
        middleware: [new LabelMiddleware("session", [])],
        logger: recordingLogger(),
      });
      const response = await callHTTP(app.asgi, "/");

      expect(response.status).to.equal(403);
      expect(response.header("x-seen-by")).to.equal("session");
    });

    it("ends quietly on client disconnect", async () => {
      const logger = recordingLogger();
      const app = new App({
        routeHandlers: [post("/", async (request) => request.body())],
        logger,
      });
      const sent: unknown[] = [];
      const receive = queueReceive([{ type: "http.disconnect" }]);
      await app.asgi(httpScope("/", { method: "POST" }), receive, async (message) => {
        sent.push(message);
      });

      expect(sent).to.deep.equal([]);
      expect(logger.entries.filter((entry) => entry.level === "error")).to.have.length(0);
    });

    it("ignores send rejecting on disconnect", async () => {
      const logger = recordingLogger();
      const app = new App({ routeHandlers: [get("/", () => "x")], logger });
      await app.asgi(httpScope("/"), queueReceive([]), async () => {
        throw new ClientDisconnectedError();
      });

      expect(logger.entries.filter((entry) => entry.level === "error")).to.have.length(0);
    });

    it("ignores disconnect while sending 404", async () => {
      const logger = recordingLogger();
      const app = new App({ routeHandlers: [], logger });
      await app.asgi(httpScope("/missing"), queueReceive([]), async () => {
        throw new ClientDisconnectedError();
      });

      expect(logger.entries.map((entry) => entry.level)).to.deep.equal(["debug"]);
    });

    it("logs error after response start", async () => {
      const logger = recordingLogger();
      const failAfterStart = (): ASGIApp => async (_scope, _receive, send) => {
        await send({ type: "http.response.start", status: 200, headers: [] });
        throw new Error("late");
      };
      const app = new App({
        routeHandlers: [get("/", () => "x")],
        middleware: [failAfterStart],
        logger,
      });
      const sent: string[] = [];
      await app.asgi(httpScope("/"), queueReceive([]), async (message) => {
        sent.push(message.type);
      });

      expect(sent).to.deep.equal(["http.response.start"]);
      expect(logger.entries.filter((entry) => entry.level === "error")).to.have.length(1);
    });
  });

  describe("middleware", () => {
    it("puts app middleware outside route middleware", async () => {
      const calls: string[] = [];
      const app = new App({
        routeHandlers: [
          get(
            "/",
            () => {
              calls.push("handler");
              return "x";
            },
            { middleware: [new LabelMiddleware("route", calls)] },
          ),
        ],
        middleware: [new LabelMiddleware("first", calls), new LabelMiddleware("second", calls)],
        logger: recordingLogger(),
      });
      await callHTTP(app.asgi, "/");

      expect(calls).to.deep.equal(["first", "second", "route", "handler"]);
    });

    it("sees the route handler", async () => {
      let seen: unknown;
      const spy =
        (next: ASGIApp): ASGIApp =>
        async (scope, receive, send) => {
          seen = scope.route_handler;
          await next(scope, receive, send);
        };
      const handler = get("/", () => "x", { opt: { skip_session: true } });
      const app = new App({
        routeHandlers: [handler],
        middleware: [spy],
        logger: recordingLogger(),
      });
      await callHTTP(app.asgi, "/");

      expect(seen).to.equal(handler);
    });

    it("leaves bypassed middleware out", async () => {
      const calls: string[] = [];
      const middleware = new LabelMiddleware("m", calls, { excludeOptKey: "skip" });
      let bypassChecks = 0;
      const original = middleware.shouldBypassForHandler.bind(middleware);
      middleware.shouldBypassForHandler = (handler) => {
        bypassChecks++;
        return original(handler);
      };
      const app = new App({
        routeHandlers: [get("/skip", () => "x", { opt: { skip: true } }), get("/run", () => "y")],
        middleware: [middleware],
        logger: recordingLogger(),
      });
      await callHTTP(app.asgi, "/skip");
      await callHTTP(app.asgi, "/run");
      await callHTTP(app.asgi, "/run");

      expect(calls).to.deep.equal(["m", "m"]);
      expect(bypassChecks).to.equal(2);
    });

    it("excludes by handler path template", async () => {
      const calls: string[] = [];
      const app = new App({
        routeHandlers: [get("/users/{id:int}", () => "x"), get("/other", () => "y")],
        middleware: [new LabelMiddleware("m", calls, { excludePathPattern: "\\{id:int\\}" })],
        logger: recordingLogger(),
      });
      await callHTTP(app.asgi, "/users/1");
      await callHTTP(app.asgi, "/other");

      expect(calls).to.deep.equal(["m"]);
    });

    it("leaves out by scope type", async () => {
      const calls: string[] = [];
      const app = new App({
        routeHandlers: [get("/", () => "x")],
        middleware: [new LabelMiddleware("ws-only", calls, { scopes: ["websocket"] })],
        logger: recordingLogger(),
      });
      await callHTTP(app.asgi, "/");

      expect(calls).to.deep.equal([]);
    });

    it("applies AbstractMiddleware opt exclusion", async () => {
      const calls: string[] = [];
      class Recorder extends AbstractMiddleware {
        async handle(scope: Scope, receive: Receive, send: Send): Promise<void> {
          calls.push("abstract");
          await this.app(scope, receive, send);
        }
      }
      const app = new App({
        routeHandlers: [get("/a", () => "x", { opt: { skip: true } }), get("/b", () => "y")],
        middleware: [new DefineMiddleware(Recorder, { excludeOptKey: "skip" })],
        logger: recordingLogger(),
      });
      await callHTTP(app.asgi, "/a");
      await callHTTP(app.asgi, "/b");

      expect(calls).to.deep.equal(["abstract"]);
    });

    it("skips middleware for 404", async () => {
      const calls: string[] = [];
      const app = new App({
        routeHandlers: [get("/", () => "x")],
        middleware: [new LabelMiddleware("m", calls)],
        logger: recordingLogger(),
      });
      await callHTTP(app.asgi, "/missing");

      expect(calls).to.deep.equal([]);
    });
  });

  describe("lifespan", () => {
    function lifespanScope(): LifespanScope {
      return { type: "lifespan", asgi: { version: "3.0", spec_version: "2.0" }, state: {} };
    }

    async function runLifespan(
      app: App,
      messages: ReceiveMessage[],
    ): Promise<{ sent: LifespanSendMessage[]; scope: LifespanScope }> {
      const scope = lifespanScope();
      const sent: LifespanSendMessage[] = [];
      await app.asgi(scope, queueReceive(messages), async (message) => {
        sent.push(message as LifespanSendMessage);
      });
      return { sent, scope };
    }

    it("runs hooks and shares state", async () => {
      const calls: string[] = [];
      const app = new App({
        routeHandlers: [],
        state: { name: "demo" },
        onStartup: [
          (instance) => {
            calls.push("start");
            instance.state.ready = true;
          },
        ],
        onShutdown: [
          async () => {
            calls.push("stop");
          },
        ],
        logger: recordingLogger(),
      });
      const { sent, scope } = await runLifespan(app, [
        { type: "lifespan.startup" },
        { type: "lifespan.shutdown" },
      ]);

      expect(sent).to.deep.equal([
        { type: "lifespan.startup.complete" },
        { type: "lifespan.shutdown.complete" },
      ]);
      expect(calls).to.deep.equal(["start", "stop"]);
      expect(scope.state).to.deep.equal({ name: "demo", ready: true });
    });

    it("reports startup failure", async () => {
      const logger = recordingLogger();
      const app = new App({
        routeHandlers: [],
        onStartup: [
          () => {
            throw new Error("database unreachable");
          },
        ],
        logger,
      });
      const { sent } = await runLifespan(app, [{ type: "lifespan.startup" }]);

      expect(sent).to.deep.equal([
        { type: "lifespan.startup.failed", message: "database unreachable" },
      ]);
      expect(logger.entries.filter((entry) => entry.level === "error")).to.have.length(1);
    });

    it("reports shutdown failure", async () => {
      const app = new App({
        routeHandlers: [],
        onShutdown: [
          () => {
            throw new Error("flush failed");
          },
        ],
        logger: recordingLogger(),
      });
      const { sent } = await runLifespan(app, [
        { type: "lifespan.startup" },
        { type: "lifespan.shutdown" },
      ]);

      expect(sent[1]).to.deep.equal({ type: "lifespan.shutdown.failed", message: "flush failed" });
    });

    it("rejects non-function hooks", () => {
      expect(() => new App({ routeHandlers: [], onStartup: ["x" as never] })).to.throw(
        ImproperlyConfiguredException,
        /onStartup\[0\]/,
      );
    });
  });

  describe("options", () => {
    const invalid: Array<[string, Record<string, unknown>, RegExp]> = [
      ["debug string", { debug: "false" }, /debug must be true or false, got "false"/],
      ["debug number", { debug: 1 }, /debug must be true or false, got 1/],
      ["logger empty object", { logger: {} }, /logger must have debug, info, warn and error/],
      ["logger function", { logger: () => undefined }, /logger must have .*got a function/],
    ];

    for (const [name, options, message] of invalid) {
      it(`rejects ${name}`, () => {
        expect(() => new App({ routeHandlers: [], ...options }))
          .to.throw(ImproperlyConfiguredException)
          .with.property("message")
          .that.matches(message);
      });
    }

    it("accepts debug true", () => {
      expect(new App({ routeHandlers: [], debug: true }).debug).to.equal(true);
    });
  });

  describe("stores", () => {
    it("creates a default registry", () => {
      const app = new App({ routeHandlers: [] });

      expect(app.stores).to.be.instanceOf(StoreRegistry);
      expect(app.stores.get("sessions")).to.equal(app.stores.get("sessions"));
    });

    it("wraps a plain object", () => {
      const store = new MemoryStore();
      const app = new App({ routeHandlers: [], stores: { sessions: store } });

      expect(app.stores.get("sessions")).to.equal(store);
    });

    it("keeps a given registry", () => {
      const registry = new StoreRegistry();

      expect(new App({ routeHandlers: [], stores: registry }).stores).to.equal(registry);
    });
  });

  describe("toASGIApp", () => {
    it("returns app.asgi for an App", () => {
      const app = new App({ routeHandlers: [get("/", () => "x")] });

      expect(toASGIApp(app)).to.equal(app.asgi);
    });

    it("returns a function unchanged", () => {
      const fn: ASGIApp = async () => undefined;

      expect(toASGIApp(fn)).to.equal(fn);
    });

    it("rejects other values", () => {
      expect(() => toASGIApp({} as never)).to.throw(ImproperlyConfiguredException);
    });
  });

  it("works as a detached asgi function", async () => {
    const { asgi } = new App({ routeHandlers: [get("/", () => "bound")] });

    expect((await callHTTP(asgi, "/")).text).to.equal("bound");
  });

  it("validates maxBodySize", () => {
    expect(() => new App({ routeHandlers: [], maxBodySize: 0 })).to.throw(
      ImproperlyConfiguredException,
      /maxBodySize/,
    );
  });

  it("applies the route body limit", async () => {
    const app = new App({
      routeHandlers: [post("/", async (request) => request.text(), { maxBodySize: 3 })],
      logger: recordingLogger(),
    });
    const response = await callHTTP(app.asgi, "/", { method: "POST", body: "abcd" });

    expect(response.status).to.equal(413);
  });

  it("keeps websocket handlers out of HTTP", async () => {
    const app = new App({
      routeHandlers: [websocket("/ws", async () => undefined)],
      logger: recordingLogger(),
    });

    expect((await callHTTP(app.asgi, "/ws")).status).to.equal(404);
  });
});
