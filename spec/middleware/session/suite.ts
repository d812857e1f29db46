import type { IncomingMessage } from "node:http";

import { expect } from "chai";
import WebSocketClient from "ws";

import type { SessionData } from "../../../lib/connection/base";
import type { BaseBackendConfig, BaseBackendOptions } from "../../../lib/middleware/session/base";
import { silentLogger } from "../../../lib/logger";
import { serve } from "../../../lib/server";
import type { ASGIApp, ConnectionScope, HTTPScope, Receive, Send } from "../../../lib/types/asgi";
import { applySetCookies, cookieHeader, parseSetCookie } from "./helpers";

/** What the suite needs of a backend config: its cookie key and its middleware. */
export type SuiteConfig = Pick<BaseBackendConfig, "key"> & {
  middleware: { wrap(app: ASGIApp): ASGIApp };
};

type Jar = Record<string, string>;

interface HttpResult {
  status: number;
  body: { session: SessionData | null; hasSession: boolean };
  setCookies: string[];
  jar: Jar;
}

interface UpgradeResult {
  status: number;
  setCookies: string[];
  jar: Jar;
  message: string | null;
}

const TIMEOUT_MS = 5000;

/**
 * Builds the raw ASGI app the suite requests. HTTP paths: `/get` returns the session, `/set?k=v` stores
 * `k`, `/increment` adds 1 to `n`, `/clear` clears the session, `/opt/...` marks the route
 * handler with `opt.skip_session`. WebSocket `/ws` adds 1 to `ws_visits` before accepting
 * and sends the session as loaded; `/ws?deny` stores `denied` and rejects with 403.
 */
function createSuiteApp(wrap: (app: ASGIApp) => ASGIApp): ASGIApp {
  const inner: ASGIApp = async (scope, receive, send) => {
    if (scope.type === "http") return handleHttp(scope, send);
    if (scope.type === "websocket") return handleWebSocket(scope, receive, send);
  };
  const wrapped = wrap(inner);

  return async (scope, receive, send) => {
    if (scope.type !== "lifespan" && scope.path.startsWith("/opt/")) {
      scope.route_handler = { opt: { skip_session: true } };
    }

    if (scope.type === "lifespan") return handleLifespan(receive, send);
    return wrapped(scope, receive, send);
  };
}

async function handleLifespan(receive: Receive, send: Send): Promise<void> {
  for (let i = 0; i < 2; i++) {
    const message = await receive();
    if (message.type === "lifespan.startup") await send({ type: "lifespan.startup.complete" });
    if (message.type === "lifespan.shutdown") {
      await send({ type: "lifespan.shutdown.complete" });
      return;
    }
  }
}

async function handleHttp(scope: HTTPScope, send: Send): Promise<void> {
  const hasSession = "session" in scope;
  const session = () => (scope.session ??= {});
  const query = new URLSearchParams(scope.query_string);
  const action = scope.path.replace(/^\/(opt|skip)\//, "/");

  if (action === "/set") for (const [key, value] of query) session()[key] = value;
  if (action === "/increment") session().n = Number(session().n ?? 0) + 1;
  if (action === "/clear") scope.session = null;

  const body = JSON.stringify({ session: hasSession ? (scope.session ?? null) : null, hasSession });
  await send({
    type: "http.response.start",
    status: 200,
    headers: [["content-type", "application/json"]],
  });
  await send({ type: "http.response.body", body: Buffer.from(body) });
}

async function handleWebSocket(
  scope: ConnectionScope,
  receive: Receive,
  send: Send,
): Promise<void> {
  const connect = await receive();
  if (connect.type !== "websocket.connect") return;

  const loaded = JSON.stringify(scope.session ?? null);
  const session = (scope.session ??= {});

  if (scope.query_string.includes("deny")) {
    session.denied = true;
    await send({ type: "websocket.http.response.start", status: 403, headers: [] });
    await send({ type: "websocket.http.response.body", body: Buffer.from("denied") });
    return;
  }

  session.ws_visits = Number(session.ws_visits ?? 0) + 1;
  await send({ type: "websocket.accept" });
  await send({ type: "websocket.send", text: loaded });

  for (let i = 0; i < 100; i++) {
    const message = await receive();
    if (message.type === "websocket.disconnect") return;
  }
}

async function request(port: number, path: string, jar: Jar = {}): Promise<HttpResult> {
  const header = cookieHeader(jar);
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    headers: header === "" ? {} : { cookie: header },
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const setCookies = response.headers.getSetCookie();

  return {
    status: response.status,
    body: (await response.json()) as HttpResult["body"],
    setCookies,
    jar: applySetCookies(jar, setCookies),
  };
}

function setCookiesOf(response: IncomingMessage): string[] {
  const header = response.headers["set-cookie"];
  return header === undefined ? [] : header;
}

/** Opens a WebSocket carrying `jar`, reads the first message, closes, and reports the upgrade. */
function upgrade(port: number, path: string, jar: Jar): Promise<UpgradeResult> {
  return new Promise((resolve, reject) => {
    const header = cookieHeader(jar);
    const socket = new WebSocketClient(`ws://127.0.0.1:${port}${path}`, {
      headers: header === "" ? {} : { cookie: header },
    });
    const result: UpgradeResult = { status: 0, setCookies: [], jar, message: null };
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error(`no WebSocket result from ${path} within ${TIMEOUT_MS} ms`));
    }, TIMEOUT_MS);
    const finish = (): void => {
      clearTimeout(timer);
      resolve(result);
    };

    socket.on("upgrade", (response) => {
      result.status = response.statusCode ?? 0;
      result.setCookies = setCookiesOf(response);
      result.jar = applySetCookies(jar, result.setCookies);
    });
    socket.on("message", (data) => {
      result.message = String(data);
      socket.close();
    });
    socket.on("close", finish);
    socket.on("unexpected-response", (_request, response) => {
      result.status = response.statusCode ?? 0;
      result.setCookies = setCookiesOf(response);
      result.jar = applySetCookies(jar, result.setCookies);
      response.resume();
      response.on("end", finish);
    });
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/**
 * Defines the tests of the middleware behaviour every session backend shares, run through a
 * real server on 127.0.0.1 with `fetch` and `ws`. `makeConfig` builds a config of the backend under test with
 * the given base options.
 */
export function runSessionMiddlewareSuite(
  backendName: string,
  makeConfig: (overrides: Partial<BaseBackendOptions>) => SuiteConfig,
): void {
  describe(`SessionMiddleware with ${backendName}`, () => {
    const servers: Array<{ close(): Promise<void> }> = [];

    async function start(overrides: Partial<BaseBackendOptions> = {}): Promise<number> {
      const config = makeConfig(overrides);
      const server = await serve(
        createSuiteApp((app) => config.middleware.wrap(app)),
        { host: "127.0.0.1", port: 0, logger: silentLogger },
      );
      servers.push(server);
      return server.port;
    }

    afterEach(async () => {
      await Promise.all(servers.splice(0).map((server) => server.close()));
    });

    it("stores and loads a session", async () => {
      const port = await start();

      const written = await request(port, "/set?user=u1");
      const read = await request(port, "/get", written.jar);

      expect(written.setCookies).to.have.length.at.least(1);
      expect(read.body.session).to.deep.equal({ user: "u1" });
    });

    it("starts with an empty session", async () => {
      const port = await start();

      const result = await request(port, "/get");

      expect(result.body).to.deep.equal({ session: {}, hasSession: true });
      expect(result.setCookies).to.deep.equal([]);
    });

    it("writes nothing when unchanged", async () => {
      const port = await start();

      const written = await request(port, "/set?user=u1");
      const read = await request(port, "/get", written.jar);

      expect(read.setCookies).to.deep.equal([]);
    });

    it("sends clearing cookies on clear", async () => {
      const port = await start();

      const written = await request(port, "/set?user=u1");
      const cleared = await request(port, "/clear", written.jar);
      const after = await request(port, "/get", cleared.jar);

      expect(cleared.setCookies).to.have.length.at.least(1);
      for (const header of cleared.setCookies) {
        expect(parseSetCookie(header).attributes).to.include("Max-Age=0");
      }
      expect(after.body.session).to.deep.equal({});
    });

    it("uses the configured key", async () => {
      const port = await start({ key: "app-session" });

      const written = await request(port, "/set?user=u1");

      expect(Object.keys(written.jar)).to.deep.equal(["app-session"]);
    });

    it("skips excluded paths", async () => {
      const port = await start({ exclude: ["^/skip/"] });

      const written = await request(port, "/set?user=u1");
      const skipped = await request(port, "/skip/set?user=u2", written.jar);
      const read = await request(port, "/get", written.jar);

      expect(skipped.body.hasSession).to.equal(false);
      expect(skipped.setCookies).to.deep.equal([]);
      expect(read.body.session).to.deep.equal({ user: "u1" });
    });

    it("skips routes marked by excludeOptKey", async () => {
      const port = await start();

      const marked = await request(port, "/opt/set?user=u1");

      expect(marked.body.hasSession).to.equal(false);
      expect(marked.setCookies).to.deep.equal([]);
    });

    it("honours a custom excludeOptKey", async () => {
      const port = await start({ excludeOptKey: "no_sessions_here" });

      const marked = await request(port, "/opt/get");

      expect(marked.body.hasSession).to.equal(true);
    });

    it("skips scopes not configured", async () => {
      const port = await start({ scopes: ["http"] });

      const written = await request(port, "/set?user=u1");
      const upgraded = await upgrade(port, "/ws", written.jar);

      expect(upgraded.status).to.equal(101);
      expect(upgraded.message).to.equal("null");
      expect(upgraded.setCookies).to.deep.equal([]);
    });

    it("loads the session on upgrade", async () => {
      const port = await start();

      const written = await request(port, "/set?user=u1");
      const upgraded = await upgrade(port, "/ws", written.jar);

      expect(upgraded.status).to.equal(101);
      expect(JSON.parse(upgraded.message ?? "null")).to.deep.equal({ user: "u1" });
    });

    it("sets cookies on the 101 response", async () => {
      const port = await start();

      const written = await request(port, "/set?user=u1");
      const upgraded = await upgrade(port, "/ws", written.jar);
      const read = await request(port, "/get", upgraded.jar);

      expect(upgraded.setCookies).to.have.length.at.least(1);
      expect(read.body.session).to.deep.equal({ user: "u1", ws_visits: 1 });
    });

    it("sets cookies on a denial response", async () => {
      const port = await start();

      const written = await request(port, "/set?user=u1");
      const denied = await upgrade(port, "/ws?deny", written.jar);
      const read = await request(port, "/get", denied.jar);

      expect(denied.status).to.equal(403);
      expect(denied.setCookies).to.have.length.at.least(1);
      expect(read.body.session).to.deep.equal({ user: "u1", denied: true });
    });

    it("keeps concurrent sessions apart", async () => {
      const port = await start();
      const clients = Array.from({ length: 20 }, (_, i) => i);

      const first = await Promise.all(clients.map((i) => request(port, `/set?n=${i * 10}`)));
      const second = await Promise.all(
        clients.map((i) => request(port, "/increment", first[i].jar)),
      );
      const read = await Promise.all(clients.map((i) => request(port, "/get", second[i].jar)));

      for (const i of clients) {
        expect(read[i].body.session).to.deep.equal({ n: i * 10 + 1 });
      }
    });
  });
}
