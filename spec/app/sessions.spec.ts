import { expect } from "chai";

import { App } from "../../lib/app/app";
import { get, post } from "../../lib/app/handlers";
import { silentLogger } from "../../lib/logger";
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
