import { expect } from "chai";

import { App } from "../../lib/app/app";
import { get, post } from "../../lib/app/handlers";
import { SessionTooLargeError, StoreError } from "../../lib/exceptions";
import { silentLogger, type Logger } from "../../lib/logger";
import { CookieBackendConfig } from "../../lib/middleware/session/client-side";
import { ServerSideSessionConfig } from "../../lib/middleware/session/server-side";
import { MemoryStore } from "../../lib/stores/memory";
import type { ASGIApp, Headers } from "../../lib/types/asgi";
import { callHTTP } from "./fixtures";

/** Turns Set-Cookie values into one `cookie` request header, dropping cleared cookies. */
function cookieHeader(setCookies: string[]): Headers {
  const pairs = setCookies
    .map((value) => value.split(";", 1)[0])
    .filter((pair) => !pair.endsWith("=null") && !/^[^=]*=$/.test(pair));

  return pairs.length === 0 ? [] : [["cookie", pairs.join("; ")]];
}

/** Creates a logger that keeps the error-level entries, with the error and the message. */
function recordingLogger(): Logger & { errors: Array<{ err: unknown; message?: string }> } {
  const errors: Array<{ err: unknown; message?: string }> = [];
  const ignore = (): void => undefined;

  return {
    errors,
    debug: ignore,
    info: ignore,
    warn: ignore,
    error: (context, message) => {
      errors.push({ err: (context as { err?: unknown }).err, message });
    },
  };
}

function setCookies(headers: Headers): string[] {
  return headers.filter(([name]) => name === "set-cookie").map(([, value]) => value);
}

function sessionApp(middleware: { wrap(app: ASGIApp): ASGIApp }, stores?: App["stores"]): App {
  return new App({
    routeHandlers: [
      post("/login", (request) => {
        request.session.user = "ada";
        return null;
      }),
      get("/me", (request) => ({ user: request.session.user ?? null })),
      get("/skip", (request) => ({ hasSession: "session" in request.scope }), {
        opt: { skip_session: true },
      }),
    ],
    middleware: [middleware],
    stores,
    logger: silentLogger,
  });
}

describe("App with sessions", () => {
  const configs = {
    "client-side": () =>
      new CookieBackendConfig({ secret: Buffer.alloc(16, 7), logger: silentLogger }).middleware,
    "server-side": () => new ServerSideSessionConfig({ logger: silentLogger }).middleware,
  };

  for (const [name, middleware] of Object.entries(configs)) {
    describe(name, () => {
      it("keeps the session across requests", async () => {
        const app = sessionApp(middleware(), undefined);
        const login = await callHTTP(app.asgi, "/login", { method: "POST" });
        const cookies = setCookies(login.headers);

        expect(login.status).to.equal(201);
        expect(cookies).to.have.length.greaterThan(0);

        const me = await callHTTP(app.asgi, "/me", {
          headers: [["host", "testserver"], ...cookieHeader(cookies)],
        });
        expect(me.json()).to.deep.equal({ user: "ada" });
      });

      it("skips routes with skip_session", async () => {
        const app = sessionApp(middleware(), undefined);
        const response = await callHTTP(app.asgi, "/skip");

        expect(response.json()).to.deep.equal({ hasSession: false });
      });
    });
  }

  it("logs a store failure once", async () => {
    const store = new MemoryStore();
    store.set = async () => {
      throw new Error("disk full");
    };
    const logger = recordingLogger();
    const sessions = new ServerSideSessionConfig({ store, logger });
    const app = new App({
      routeHandlers: [post("/login", (request) => ((request.session.user = "ada"), null))],
      middleware: [sessions.middleware],
      logger,
    });

    const response = await callHTTP(app.asgi, "/login", { method: "POST" });
    const errors = logger.errors;

    expect(response.status).to.equal(500);
    expect(errors).to.have.length(1);
    expect(errors[0].message).to.equal("unhandled error while handling the request, sending 500");
    expect(errors[0].err).to.be.instanceOf(StoreError);
    expect(errors[0].err).to.include({ store: "MemoryStore", operation: "set" });
  });

  it("logs an oversized session once", async () => {
    const logger = recordingLogger();
    const sessions = new CookieBackendConfig({ secret: Buffer.alloc(16, 7), maxChunks: 1, logger });
    const app = new App({
      routeHandlers: [get("/big", (request) => ((request.session.blob = "x".repeat(8000)), null))],
      middleware: [sessions.middleware],
      logger,
    });

    const response = await callHTTP(app.asgi, "/big");
    const errors = logger.errors;
    const error = errors[0]?.err as SessionTooLargeError;

    expect(response.status).to.equal(500);
    expect(errors).to.have.length(1);
    expect(error).to.be.instanceOf(SessionTooLargeError);
    expect(error.size).to.be.greaterThan(error.limit!);
    expect(error.limit).to.be.within(3000, 4096);
    expect(error.chunks).to.equal(3);
    expect(error.maxChunks).to.equal(1);
  });

  it("uses the app store registry", async () => {
    const store = new MemoryStore();
    const app = new App({
      routeHandlers: [
        post("/login", (request) => {
          request.session.user = "grace";
          return null;
        }),
      ],
      middleware: [new ServerSideSessionConfig({ logger: silentLogger }).middleware],
      stores: { sessions: store },
      logger: silentLogger,
    });
    const response = await callHTTP(app.asgi, "/login", { method: "POST" });
    const id = setCookies(response.headers)[0].split(";", 1)[0].split("=")[1];

    expect(await store.exists(id)).to.equal(true);
  });
});
