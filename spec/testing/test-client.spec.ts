import { expect } from "chai";

import { App, get, websocket } from "../../lib/app";
import { ASGIConnection } from "../../lib/connection/base";
import {
  ASGIProtocolError,
  ImproperlyConfiguredException,
  LifespanError,
  WebSocketDisconnect,
} from "../../lib/exceptions";
import { silentLogger } from "../../lib/logger";
import { CookieBackendConfig } from "../../lib/middleware/session/client-side";
import { ServerSideSessionConfig } from "../../lib/middleware/session/server-side";
import { MemoryStore } from "../../lib/stores/memory";
import { StoreRegistry } from "../../lib/stores/registry";
import {
  CookieJar,
  createTestClient,
  parseSetCookieHeader,
  TestClient,
  WebSocketDenialResponse,
} from "../../lib/testing";
import type {
  ASGIApp,
  ConnectionScope,
  HTTPScope,
  Headers,
  Receive,
  Send,
  WebSocketReceiveEvent,
} from "../../lib/types/asgi";

const encoder = new TextEncoder();

/** Sends a complete HTTP response with a UTF-8 body. */
async function respond(send: Send, status: number, body: string, headers: Headers = []) {
  await send({ type: "http.response.start", status, headers });
  await send({ type: "http.response.body", body: encoder.encode(body), more_body: false });
}

async function readBody(receive: Receive): Promise<Buffer> {
  const chunks: Buffer[] = [];

  for (;;) {
    const message = await receive();
    if (message.type !== "http.request") return Buffer.concat(chunks);

    chunks.push(Buffer.from(message.body));
    if (!message.more_body) return Buffer.concat(chunks);
  }
}

/** Responds with the scope fields of the request and its body, as JSON. */
const echoApp: ASGIApp = async (scope, receive, send) => {
  if (scope.type !== "http") throw new Error(`unexpected scope ${scope.type}`);

  const body = await readBody(receive);
  const echo = {
    method: scope.method,
    path: scope.path,
    rawPath: scope.raw_path,
    query: scope.query_string,
    headers: scope.headers,
    body: body.toString("utf8"),
    state: scope.state,
  };
  await respond(send, 200, JSON.stringify(echo), [["content-type", "application/json"]]);
};

/** Responds with the Set-Cookie headers given in the `set` query parameters. */
const cookieApp: ASGIApp = async (scope, _receive, send) => {
  const http = scope as HTTPScope;
  const params = new URLSearchParams(http.query_string);
  const headers: Headers = params.getAll("set").map((value) => ["set-cookie", value]);
  const cookie = http.headers.find(([name]) => name === "cookie")?.[1] ?? "";
  await respond(send, 200, cookie, headers);
};

interface Echo {
  method: string;
  path: string;
  rawPath: string;
  query: string;
  headers: Headers;
  body: string;
  state: Record<string, unknown>;
}

function headerOf(echo: Echo, name: string): string | undefined {
  return echo.headers.find(([headerName]) => headerName === name)?.[1];
}

describe("CookieJar", () => {
  const url = "http://example.test/app/page";
  let now: number;
  let jar: CookieJar;

  beforeEach(() => {
    now = Date.UTC(2030, 0, 1);
    jar = new CookieJar({ now: () => now });
  });

  it("stores and sends cookie", () => {
    jar.storeResponseCookies(["a=1; Path=/"], url);

    expect(jar.get("a")).to.equal("1");
    expect(jar.cookieHeader("http://example.test/")).to.equal("a=1");
  });

  it("deletes on Max-Age zero", () => {
    jar.storeResponseCookies(["a=1; Path=/"], url);
    jar.storeResponseCookies(["a=null; Path=/; Max-Age=0"], url);

    expect(jar.get("a")).to.equal(undefined);
    expect(jar.size).to.equal(0);
  });

  it("deletes on past Expires", () => {
    jar.storeResponseCookies(["a=1; Path=/"], url);
    jar.storeResponseCookies(["a=null; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT"], url);

    expect(jar.get("a")).to.equal(undefined);
  });

  it("keeps future Expires", () => {
    jar.storeResponseCookies(["a=1; Path=/; Expires=Wed, 01 Jan 2031 00:00:00 GMT"], url);

    expect(jar.get("a")).to.equal("1");
    expect(jar.list()[0].expiresAt).to.equal(Date.UTC(2031, 0, 1));
  });

  it("prefers Max-Age over Expires", () => {
    jar.storeResponseCookies(["a=1; Max-Age=60; Expires=Thu, 01 Jan 1970 00:00:00 GMT"], url);

    expect(jar.get("a")).to.equal("1");
    expect(jar.list()[0].expiresAt).to.equal(now + 60_000);
  });

  it("expires after Max-Age elapses", () => {
    jar.storeResponseCookies(["a=1; Max-Age=60"], url);
    now += 59_000;
    expect(jar.get("a")).to.equal("1");

    now += 1_000;
    expect(jar.get("a")).to.equal(undefined);
  });

  it("ignores invalid Max-Age", () => {
    jar.storeResponseCookies(["a=1; Max-Age=soon"], url);

    expect(jar.get("a")).to.equal("1");
    expect(jar.list()[0].expiresAt).to.equal(null);
  });

  it("scopes cookie by Path", () => {
    jar.storeResponseCookies(["a=1; Path=/app"], url);

    expect(jar.cookieHeader("http://example.test/app")).to.equal("a=1");
    expect(jar.cookieHeader("http://example.test/app/x")).to.equal("a=1");
    expect(jar.cookieHeader("http://example.test/apple")).to.equal("");
    expect(jar.cookieHeader("http://example.test/")).to.equal("");
  });

  it("derives default path from request", () => {
    jar.storeResponseCookies(["a=1"], url);

    expect(jar.list()[0].path).to.equal("/app");
  });

  it("sends longer paths first", () => {
    jar.storeResponseCookies(["a=root; Path=/"], url);
    jar.storeResponseCookies(["a=deep; Path=/app"], url);

    expect(jar.cookieHeader(url)).to.equal("a=deep; a=root");
    expect(jar.get("a", url)).to.equal("deep");
  });

  it("replaces same name and path", () => {
    jar.storeResponseCookies(["a=1; Path=/"], url);
    jar.storeResponseCookies(["a=2; Path=/"], url);

    expect(jar.cookieHeader(url)).to.equal("a=2");
  });

  it("rejects foreign Domain", () => {
    jar.storeResponseCookies(["a=1; Domain=other.test"], url);

    expect(jar.size).to.equal(0);
  });

  it("sends Domain cookie to subdomains", () => {
    jar.storeResponseCookies(["a=1; Domain=.example.test; Path=/"], url);

    expect(jar.cookieHeader("http://api.example.test/")).to.equal("a=1");
    expect(jar.cookieHeader("http://example.test/")).to.equal("a=1");
  });

  it("keeps host-only cookie on host", () => {
    jar.storeResponseCookies(["a=1; Path=/"], url);

    expect(jar.cookieHeader("http://api.example.test/")).to.equal("");
  });

  it("sends Secure cookie over https", () => {
    jar.storeResponseCookies(["a=1; Path=/; Secure"], url);

    expect(jar.cookieHeader("http://example.test/")).to.equal("");
    expect(jar.cookieHeader("https://example.test/")).to.equal("a=1");
    expect(jar.cookieHeader("wss://example.test/")).to.equal("a=1");
  });

  it("skips malformed Set-Cookie", () => {
    jar.storeResponseCookies(["novalue", "=1", "b=2"], url);

    expect(jar.toObject()).to.deep.equal({ b: "2" });
  });

  it("replaces hand-set cookie on host", () => {
    const hostJar = new CookieJar({ defaultDomain: "example.test" });
    hostJar.set("a", "by-hand");
    hostJar.storeResponseCookies(["a=from-server; Path=/"], url);

    expect(hostJar.cookieHeader(url)).to.equal("a=from-server");
    expect(hostJar.cookieHeader("http://other.test/")).to.equal("");
  });

  it("deletes by name", () => {
    jar.set("a", "1");
    jar.set("b", "2");
    jar.delete("a");

    expect(jar.toObject()).to.deep.equal({ b: "2" });
  });
});

describe("parseSetCookieHeader", () => {
  it("parses every attribute", () => {
    const parsed = parseSetCookieHeader(
      "id=abc; Path=/x; Domain=.Example.test; Max-Age=10; Expires=Thu, 01 Jan 1970 00:00:00 GMT; " +
        "Secure; HttpOnly; SameSite=Lax",
    );

    expect(parsed).to.deep.equal({
      name: "id",
      value: "abc",
      path: "/x",
      domain: "example.test",
      maxAge: 10,
      expires: new Date(0),
      secure: true,
      httpOnly: true,
      sameSite: "lax",
    });
  });

  it("returns null without equals sign", () => {
    expect(parseSetCookieHeader("flag; Path=/")).to.equal(null);
  });
});

describe("TestClient HTTP", () => {
  it("returns status, headers and body", async () => {
    const app: ASGIApp = async (_scope, _receive, send) => {
      await respond(send, 201, '{"ok":true}', [
        ["Content-Type", "application/json"],
        ["x-twice", "1"],
        ["x-twice", "2"],
      ]);
    };
    const response = await new TestClient(app).get("/");

    expect(response.status).to.equal(201);
    expect(response.ok).to.equal(true);
    expect(response.headers.get("content-type")).to.equal("application/json");
    expect(response.headers.getAll("x-twice")).to.deep.equal(["1", "2"]);
    expect(response.text()).to.equal('{"ok":true}');
    expect(response.json()).to.deep.equal({ ok: true });
  });

  it("builds scope from the request", async () => {
    const client = new TestClient(echoApp);
    const response = await client.get("/caf%C3%A9/x", { query: { q: "a b", n: [1, 2] } });
    const echo = response.json<Echo>();

    expect(echo.method).to.equal("GET");
    expect(echo.path).to.equal("/café/x");
    expect(echo.rawPath).to.equal("/caf%C3%A9/x");
    expect(echo.query).to.equal("q=a+b&n=1&n=2");
    expect(headerOf(echo, "host")).to.equal("testserver.local");
  });

  it("sends json body", async () => {
    const response = await new TestClient(echoApp).post("/", { json: { a: 1 } });
    const echo = response.json<Echo>();

    expect(echo.method).to.equal("POST");
    expect(echo.body).to.equal('{"a":1}');
    expect(headerOf(echo, "content-type")).to.equal("application/json");
    expect(headerOf(echo, "content-length")).to.equal("7");
  });

  it("sends form body", async () => {
    const response = await new TestClient(echoApp).put("/", { form: { a: "1 2" } });
    const echo = response.json<Echo>();

    expect(echo.body).to.equal("a=1+2");
    expect(headerOf(echo, "content-type")).to.equal("application/x-www-form-urlencoded");
  });

  it("merges default and request headers", async () => {
    const client = new TestClient(echoApp, { headers: { "X-A": "default", "x-b": "kept" } });
    const response = await client.patch("/", { headers: [["x-a", "request"]] });
    const echo = response.json<Echo>();

    expect(headerOf(echo, "x-a")).to.equal("request");
    expect(headerOf(echo, "x-b")).to.equal("kept");
  });

  it("keeps response cookies in jar", async () => {
    const client = new TestClient(cookieApp);
    const first = await client.get("/", { query: { set: "a=1; Path=/" } });
    const second = await client.get("/");

    expect(first.cookies).to.deep.equal({ a: "1" });
    expect(second.text()).to.equal("a=1");
  });

  it("drops cleared cookie from jar", async () => {
    const client = new TestClient(cookieApp);
    await client.get("/", { query: { set: "a=1; Path=/" } });
    const cleared = await client.get("/", {
      query: { set: "a=null; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT" },
    });
    const after = await client.get("/");

    expect(cleared.setCookies[0].maxAge).to.equal(0);
    expect(after.text()).to.equal("");
    expect(client.cookies.size).to.equal(0);
  });

  it("lets request cookies replace jar", async () => {
    const client = new TestClient(cookieApp);
    client.cookies.set("a", "jar");
    client.cookies.set("b", "jar");
    const response = await client.delete("/", { cookies: { a: "request" } });

    expect(response.text()).to.equal("b=jar; a=request");
  });

  it("rethrows app exception", async () => {
    const app: ASGIApp = async () => {
      throw new Error("handler failed");
    };

    await expectRejection(new TestClient(app).get("/"), /handler failed/);
  });

  it("returns 500 when not raising", async () => {
    const app: ASGIApp = async () => {
      throw new Error("handler failed");
    };
    const response = await new TestClient(app, { raiseServerExceptions: false }).get("/");

    expect(response.status).to.equal(500);
  });

  it("rejects body before start", async () => {
    const app: ASGIApp = async (_scope, _receive, send) => {
      await send({ type: "http.response.body", body: new Uint8Array(0) });
    };

    const error = await expectRejection(new TestClient(app).get("/"), /before http.response.start/);
    expect(error).to.be.instanceOf(ASGIProtocolError);
  });

  it("rejects app without response", async () => {
    const app: ASGIApp = async () => undefined;

    await expectRejection(new TestClient(app).get("/"), /without sending/);
  });

  it("delivers disconnect after response", async () => {
    let afterResponse: string | null = null;
    const app: ASGIApp = async (_scope, receive, send) => {
      await receive();
      await respond(send, 200, "done");
      afterResponse = (await receive()).type;
    };
    await new TestClient(app).get("/");

    expect(afterResponse).to.equal("http.disconnect");
  });

  it("accepts object with asgi", async () => {
    const response = await createTestClient({ asgi: echoApp }).get("/");

    expect(response.status).to.equal(200);
  });

  it("rejects non-app argument", () => {
    expect(() => new TestClient({} as never)).to.throw(ImproperlyConfiguredException, /asgi/);
  });

  it("rejects relative baseUrl", () => {
    expect(() => new TestClient(echoApp, { baseUrl: "/x" })).to.throw(
      ImproperlyConfiguredException,
      /baseUrl/,
    );
  });
});

/** Builds a WebSocket app that accepts, echoes frames and records how the client closed. */
function makeEchoSocketApp(record: { disconnectCode?: number; acceptHeaders?: Headers }): ASGIApp {
  return async (scope, receive, send) => {
    if (scope.type !== "websocket") throw new Error(`unexpected scope ${scope.type}`);
    expect((await receive()).type).to.equal("websocket.connect");

    const subprotocol = scope.subprotocols.includes("chat") ? "chat" : null;
    await send({
      type: "websocket.accept",
      subprotocol,
      headers: record.acceptHeaders ?? [["set-cookie", "ws=1; Path=/"]],
    });

    for (;;) {
      const message = await receive();
      if (message.type === "websocket.disconnect") {
        record.disconnectCode = message.code;
        return;
      }

      const frame = message as WebSocketReceiveEvent;
      if (frame.text === "close") {
        await send({ type: "websocket.close", code: 4001, reason: "asked" });
        return;
      }
      await send({ type: "websocket.send", text: frame.text ?? null, bytes: frame.bytes ?? null });
    }
  };
}

describe("TestClient WebSocket", () => {
  it("echoes text, bytes and json", async () => {
    const client = new TestClient(makeEchoSocketApp({}));
    const socket = await client.websocketConnect("/ws");

    socket.sendText("hello");
    expect(await socket.receiveText()).to.equal("hello");

    socket.sendBytes(Buffer.from([1, 2, 3]));
    expect([...(await socket.receiveBytes())]).to.deep.equal([1, 2, 3]);

    socket.sendJson({ a: [1] });
    expect(await socket.receiveJson()).to.deep.equal({ a: [1] });

    socket.sendJson({ b: 2 }, "binary");
    expect(await socket.receiveJson()).to.deep.equal({ b: 2 });

    await socket.close();
  });

  it("negotiates subprotocol", async () => {
    const client = new TestClient(makeEchoSocketApp({}));
    const socket = await client.websocketConnect("/ws", { subprotocols: ["other", "chat"] });

    expect(socket.acceptedSubprotocol).to.equal("chat");
    expect(socket.scope.subprotocols).to.deep.equal(["other", "chat"]);
    expect(socket.scope.scheme).to.equal("ws");
    await socket.close();
  });

  it("stores accept Set-Cookie", async () => {
    const client = new TestClient(makeEchoSocketApp({}));
    const socket = await client.websocketConnect("/ws");

    expect(socket.headers.getAll("set-cookie")).to.deep.equal(["ws=1; Path=/"]);
    expect(client.cookies.get("ws")).to.equal("1");
    await socket.close();
  });

  it("sends jar cookies in handshake", async () => {
    let cookie: string | undefined;
    const app: ASGIApp = async (scope, receive, send) => {
      cookie = (scope as ConnectionScope).headers.find(([name]) => name === "cookie")?.[1];
      await makeEchoSocketApp({})(scope, receive, send);
    };
    const client = new TestClient(app);
    client.cookies.set("a", "1");
    const socket = await client.websocketConnect("/ws", { cookies: { b: "2" } });

    expect(cookie).to.equal("a=1; b=2");
    await socket.close();
  });

  it("passes client close code", async () => {
    const record: { disconnectCode?: number } = {};
    const socket = await new TestClient(makeEchoSocketApp(record)).websocketConnect("/ws");
    await socket.close(4002);

    expect(record.disconnectCode).to.equal(4002);
    expect(socket.closed).to.equal(true);
  });

  it("raises on app close", async () => {
    const socket = await new TestClient(makeEchoSocketApp({})).websocketConnect("/ws");
    socket.sendText("close");

    const error = await expectRejection(socket.receiveText(), /4001/);
    expect(error).to.be.instanceOf(WebSocketDisconnect);
    expect((error as WebSocketDisconnect).closeCode).to.equal(4001);
    await socket.close();
  });

  it("rejects close before accept", async () => {
    const app: ASGIApp = async (_scope, receive, send) => {
      await receive();
      await send({ type: "websocket.close", code: 1008 });
    };

    const error = await expectRejection(new TestClient(app).websocketConnect("/ws"), /1008/);
    expect(error).to.be.instanceOf(WebSocketDisconnect);
  });

  it("returns denial response", async () => {
    const app: ASGIApp = async (_scope, receive, send) => {
      await receive();
      await send({
        type: "websocket.http.response.start",
        status: 401,
        headers: [["set-cookie", "denied=1; Path=/"]],
      });
      await send({ type: "websocket.http.response.body", body: encoder.encode("no") });
    };
    const client = new TestClient(app);

    const error = await expectRejection(client.websocketConnect("/ws"), /401/);
    expect(error).to.be.instanceOf(WebSocketDenialResponse);
    expect((error as WebSocketDenialResponse).response.text()).to.equal("no");
    expect(client.cookies.get("denied")).to.equal("1");
  });

  it("times out waiting for frame", async () => {
    const socket = await new TestClient(makeEchoSocketApp({})).websocketConnect("/ws");

    await expectRejection(socket.receive(20), /timed out after 20 ms/);
    await socket.close();
  });

  it("closes open sockets on close", async () => {
    const record: { disconnectCode?: number } = {};
    const client = new TestClient(makeEchoSocketApp(record));
    await client.websocketConnect("/ws");
    await client.close();

    expect(record.disconnectCode).to.equal(1000);
  });
});

/** Builds an app with lifespan support that records the events it received. */
function makeLifespanApp(events: string[], failStartup = false): ASGIApp {
  return async (scope, receive, send) => {
    if (scope.type !== "lifespan") return echoApp(scope, receive, send);

    for (;;) {
      const message = await receive();
      events.push(message.type);

      if (message.type === "lifespan.startup") {
        if (failStartup) {
          await send({ type: "lifespan.startup.failed", message: "no database" });
          return;
        }
        scope.state.db = "ready";
        await send({ type: "lifespan.startup.complete" });
      } else {
        await send({ type: "lifespan.shutdown.complete" });
        return;
      }
    }
  };
}

describe("TestClient lifespan", () => {
  it("runs startup and shutdown", async () => {
    const events: string[] = [];
    const client = new TestClient(makeLifespanApp(events));
    await client.start();
    const echo = (await client.get("/")).json<Echo>();
    await client.close();

    expect(echo.state).to.deep.equal({ db: "ready" });
    expect(events).to.deep.equal(["lifespan.startup", "lifespan.shutdown"]);
  });

  it("runs callback inside lifespan", async () => {
    const events: string[] = [];
    const status = await TestClient.run(makeLifespanApp(events), async (client) => {
      expect(events).to.deep.equal(["lifespan.startup"]);
      return (await client.get("/")).status;
    });

    expect(status).to.equal(200);
    expect(events).to.deep.equal(["lifespan.startup", "lifespan.shutdown"]);
  });

  it("rejects failed startup", async () => {
    const client = new TestClient(makeLifespanApp([], true));

    const error = await expectRejection(client.start(), /no database/);
    expect(error).to.be.instanceOf(LifespanError);
  });

  it("runs app without lifespan", async () => {
    const client = new TestClient(echoApp);
    await client.start();
    const response = await client.get("/");
    await client.close();

    expect(response.status).to.equal(200);
  });
});

const SECRET = Buffer.alloc(16, 7);

type SessionConfig = CookieBackendConfig | ServerSideSessionConfig;

interface SessionBackendCase {
  name: string;
  makeConfig(): SessionConfig;
}

const backendCases: SessionBackendCase[] = [
  {
    name: "client-side",
    makeConfig: () => new CookieBackendConfig({ secret: SECRET, logger: silentLogger }),
  },
  {
    name: "server-side",
    makeConfig: () =>
      new ServerSideSessionConfig({ store: new MemoryStore(), logger: silentLogger }),
  },
];

/**
 * Builds an app that responds with the session it loaded, then replaces the session with the
 * JSON in the `set` query parameter. WebSocket connections send it as their first frame.
 */
function makeSessionApp(config: SessionConfig): ASGIApp {
  const inner: ASGIApp = async (scope, receive, send) => {
    const connectionScope = scope as ConnectionScope;
    const connection = new ASGIConnection(connectionScope, receive, send);
    const seen = { ...connection.session };
    const update = connection.queryParams.get("set");
    if (update !== null) connection.setSession(JSON.parse(update) as Record<string, unknown>);

    if (scope.type === "http") {
      await respond(send, 200, JSON.stringify(seen));
      return;
    }

    await receive();
    await send({ type: "websocket.accept" });
    await send({ type: "websocket.send", text: JSON.stringify(seen) });
    await receive();
  };

  return config.middleware.wrap(inner);
}

for (const backendCase of backendCases) {
  describe(`TestClient session helpers, ${backendCase.name}`, () => {
    let config: SessionConfig;
    let client: TestClient;

    beforeEach(() => {
      config = backendCase.makeConfig();
      client = new TestClient(makeSessionApp(config), { sessionConfig: config });
    });

    afterEach(async () => {
      await client.close();
    });

    it("sets data seen over HTTP", async () => {
      await client.setSessionData({ user: "ada", roles: ["admin"] });
      const response = await client.get("/");

      expect(response.json()).to.deep.equal({ user: "ada", roles: ["admin"] });
    });

    it("gets data set over HTTP", async () => {
      await client.get("/", { query: { set: JSON.stringify({ cart: [1, 2] }) } });

      expect(await client.getSessionData()).to.deep.equal({ cart: [1, 2] });
    });

    it("sets data seen over WebSocket", async () => {
      await client.setSessionData({ user: "grace" });
      const socket = await client.websocketConnect("/ws");

      expect(await socket.receiveJson()).to.deep.equal({ user: "grace" });
      await socket.close();
    });

    it("gets data set over WebSocket", async () => {
      const socket = await client.websocketConnect("/ws", {
        query: { set: JSON.stringify({ room: "lobby" }) },
      });
      await socket.receiveJson();
      await socket.close();

      expect(await client.getSessionData()).to.deep.equal({ room: "lobby" });
    });

    it("replaces existing data", async () => {
      await client.setSessionData({ a: 1 });
      await client.setSessionData({ b: 2 });

      expect(await client.getSessionData()).to.deep.equal({ b: 2 });
    });

    it("clears with empty data", async () => {
      await client.setSessionData({ a: 1 });
      await client.setSessionData({});

      expect(await client.getSessionData()).to.deep.equal({});
      expect(client.cookies.size).to.equal(0);
    });

    it("returns empty without cookie", async () => {
      expect(await client.getSessionData()).to.deep.equal({});
    });
  });
}

describe("TestClient session backend lookup", () => {
  it("rejects helpers without backend", async () => {
    const client = new TestClient(echoApp);

    await expectRejection(client.getSessionData(), /sessionConfig/);
  });

  it("finds backend in app middleware", async () => {
    const config = new ServerSideSessionConfig({ store: new MemoryStore(), logger: silentLogger });
    const appLike = { asgi: makeSessionApp(config), middleware: [config.middleware] };
    const client = new TestClient(appLike);
    await client.setSessionData({ found: true });

    expect((await client.get("/")).json()).to.deep.equal({ found: true });
  });

  it("writes server-side data to store", async () => {
    const store = new MemoryStore();
    const config = new ServerSideSessionConfig({ store, logger: silentLogger });
    const client = new TestClient(makeSessionApp(config), { sessionConfig: config });
    await client.setSessionData({ a: 1 });
    const sessionId = client.cookies.get("session")!;

    expect(sessionId).to.match(/^[0-9a-f]{64}$/);
    expect(Buffer.from((await store.get(sessionId))!).toString("utf8")).to.equal('{"a":1}');
  });
});

describe("TestClient with App", () => {
  function makeApp(store: MemoryStore): App {
    const config = new ServerSideSessionConfig({ logger: silentLogger });

    return new App({
      routeHandlers: [
        get("/me", (request) => ({ ...request.session })),
        get("/login", (request) => {
          request.regenerateSession();
          request.session.user = "ada";
          return "ok";
        }),
        websocket("/ws", async (socket) => {
          await socket.accept();
          await socket.sendJson({ ...socket.session });
          await socket.receiveText();
        }),
      ],
      middleware: [config.middleware],
      stores: new StoreRegistry({ stores: { sessions: store } }),
      logger: silentLogger,
    });
  }

  it("finds session config in middleware", async () => {
    const store = new MemoryStore();
    await TestClient.run(makeApp(store), async (client) => {
      await client.setSessionData({ user: "grace" });

      expect((await client.get("/me")).json()).to.deep.equal({ user: "grace" });
      expect(await store.exists(client.cookies.get("session")!)).to.equal(true);
    });
  });

  it("reads data set by handler", async () => {
    await TestClient.run(makeApp(new MemoryStore()), async (client) => {
      await client.get("/login");

      expect(await client.getSessionData()).to.deep.equal({ user: "ada" });
    });
  });

  it("shares session with WebSocket", async () => {
    await TestClient.run(makeApp(new MemoryStore()), async (client) => {
      await client.setSessionData({ room: "lobby" });
      const socket = await client.websocketConnect("/ws");

      expect(await socket.receiveJson()).to.deep.equal({ room: "lobby" });
      socket.sendText("bye");
      await socket.close();
    });
  });
});

/** Awaits `promise`, which must reject with a message matching `pattern`; returns the error. */
async function expectRejection(promise: Promise<unknown>, pattern: RegExp): Promise<Error> {
  let caught: unknown;

  try {
    await promise;
  } catch (error) {
    caught = error;
  }

  expect(caught, "expected a rejection").to.be.instanceOf(Error);
  expect((caught as Error).message).to.match(pattern);
  return caught as Error;
}
