import { expect } from "chai";
import { Redis } from "ioredis";

import { App, get, websocket } from "../../../lib/app";
import { ASGIConnection } from "../../../lib/connection/base";
import {
  ImproperlyConfiguredException,
  StoreError,
  WebSocketDisconnect,
} from "../../../lib/exceptions";
import { silentLogger } from "../../../lib/logger";
import {
  ServerSideSessionBackend,
  ServerSideSessionConfig,
  type ServerSideSessionOptions,
} from "../../../lib/middleware/session/server-side";
import { serve } from "../../../lib/server";
import type { Store } from "../../../lib/stores/base";
import { MemoryStore } from "../../../lib/stores/memory";
import { RedisStore } from "../../../lib/stores/redis";
import { StoreRegistry } from "../../../lib/stores/registry";
import { CookieJar, TestClient } from "../../../lib/testing";
import type { ASGIApp, ConnectionScope, Send } from "../../../lib/types/asgi";
import { findFreePort, startRedisServer, type RedisServer } from "../../helpers/redis-server";
import { recordingLogger } from "./helpers";
import { runSessionMiddlewareSuite } from "./suite";

const EPOCH_EXPIRES = "Expires=Thu, 01 Jan 1970 00:00:00 GMT";

const SERVE_OPTIONS = {
  host: "127.0.0.1",
  port: 0,
  lifespan: "off",
  logger: silentLogger,
} as const;

type StoreOperation = "get" | "set" | "delete";

/** A `MemoryStore` that counts calls per operation and fails the operations in `failing`. */
class SpyStore extends MemoryStore {
  readonly calls: Record<StoreOperation, string[]> = { get: [], set: [], delete: [] };
  readonly failing = new Set<StoreOperation>();

  override async get(key: string, renewFor?: number | null): Promise<Uint8Array | null> {
    this.record("get", key);
    return super.get(key, renewFor);
  }

  override async set(key: string, value: string | Uint8Array, expiresIn?: number | null) {
    this.record("set", key);
    return super.set(key, value, expiresIn);
  }

  override async delete(key: string): Promise<void> {
    this.record("delete", key);
    return super.delete(key);
  }

  async read(key: string): Promise<unknown> {
    const data = await super.get(key);
    return data === null ? null : JSON.parse(Buffer.from(data).toString("utf8"));
  }

  private record(operation: StoreOperation, key: string): void {
    this.calls[operation].push(key);
    if (this.failing.has(operation)) throw new Error("disk full");
  }
}

function makeConfig(store: Store, options: ServerSideSessionOptions = {}): ServerSideSessionConfig {
  return new ServerSideSessionConfig({ logger: silentLogger, ...options, store });
}

async function respondJson(send: Send, status: number, value: unknown): Promise<void> {
  await send({
    type: "http.response.start",
    status,
    headers: [["content-type", "application/json"]],
  });
  await send({ type: "http.response.body", body: Buffer.from(JSON.stringify(value)) });
}

/**
 * A raw ASGI app with sessions. `/get` returns the session; `/set?k=v` stores `k`;
 * `/login?user=u` regenerates the id and stores `user`; `/clear` clears the session;
 * `/clear-set?k=v` clears, then stores `k`.
 */
function makeApp(config: ServerSideSessionConfig): ASGIApp {
  const inner: ASGIApp = async (scope, receive, send) => {
    if (scope.type === "lifespan") return;

    const connection = new ASGIConnection(scope as ConnectionScope, receive, send);
    const query = connection.queryParams;
    const path = connection.scope.path;

    if (path === "/clear" || path === "/clear-set") connection.clearSession();
    if (path === "/login") {
      connection.regenerateSession();
      connection.session.user = query.get("user");
    }
    if (path === "/set" || path === "/clear-set") {
      for (const [key, value] of query) connection.session[key] = value;
    }

    await respondJson(send, 200, { session: connection.scope.session ?? null });
  };

  return config.middleware.wrap(inner);
}

interface BrowserResponse {
  status: number;
  body: { session: Record<string, unknown> | null } | string;
  setCookies: string[];
}

/** One user agent with its own cookies. */
interface Browser {
  get(path: string): Promise<BrowserResponse>;
  sessionCookie(): string | undefined;
  setSessionCookie(value: string): void;
}

/** How the behaviour specs reach the app: in-process or through a real server. */
interface Transport {
  name: string;
  open(app: ASGIApp, options?: { raiseServerExceptions?: boolean }): Promise<Harness>;
}

interface Harness {
  browser(): Browser;
  close(): Promise<void>;
}

function parseBody(text: string): BrowserResponse["body"] {
  try {
    return JSON.parse(text) as BrowserResponse["body"];
  } catch {
    return text;
  }
}

const inProcess: Transport = {
  name: "TestClient",
  async open(app, options = {}) {
    const clients: TestClient[] = [];

    return {
      browser() {
        const client = new TestClient(app, {
          raiseServerExceptions: options.raiseServerExceptions ?? true,
        });
        clients.push(client);

        return {
          async get(path) {
            const response = await client.get(path);
            return {
              status: response.status,
              body: parseBody(response.text()),
              setCookies: response.headers.getAll("set-cookie"),
            };
          },
          sessionCookie: () => client.cookies.get("session"),
          setSessionCookie: (value) => client.cookies.set("session", value),
        };
      },
      async close() {
        await Promise.all(clients.map((client) => client.close()));
      },
    };
  },
};

const realServer: Transport = {
  name: "serve() on 127.0.0.1",
  async open(app) {
    const server = await serve(app, SERVE_OPTIONS);
    const base = `http://127.0.0.1:${server.port}`;

    return {
      browser() {
        const jar = new CookieJar({ defaultDomain: "127.0.0.1" });

        return {
          async get(path) {
            const cookie = jar.cookieHeader(`${base}${path}`);
            const response = await fetch(`${base}${path}`, {
              headers: cookie === "" ? {} : { cookie },
              signal: AbortSignal.timeout(5000),
            });
            const setCookies = response.headers.getSetCookie();
            jar.storeResponseCookies(setCookies, `${base}${path}`);

            return { status: response.status, body: parseBody(await response.text()), setCookies };
          },
          sessionCookie: () => jar.get("session"),
          setSessionCookie: (value) => jar.set("session", value),
        };
      },
      close: () => server.close(),
    };
  },
};

function sessionOf(response: BrowserResponse): Record<string, unknown> | null {
  if (typeof response.body === "string") throw new Error(`not a JSON body: ${response.body}`);
  return response.body.session;
}

describe("ServerSideSessionConfig", () => {
  it("applies defaults", () => {
    const config = new ServerSideSessionConfig({ logger: silentLogger });

    expect(config.sessionIdBytes).to.equal(32);
    expect(config.renewOnAccess).to.equal(false);
    expect(config.store).to.equal("sessions");
    expect(config.key).to.equal("session");
    expect(Object.isFrozen(config)).to.equal(true);
    expect(config.backend).to.be.instanceOf(ServerSideSessionBackend);
  });

  for (const value of [16, 32, 256]) {
    it(`accepts sessionIdBytes ${value}`, () => {
      expect(makeConfig(new MemoryStore(), { sessionIdBytes: value }).sessionIdBytes).to.equal(
        value,
      );
    });
  }

  for (const value of [0, 15, 257, 16.5, Number.NaN]) {
    it(`rejects sessionIdBytes ${value}`, () => {
      expect(() => makeConfig(new MemoryStore(), { sessionIdBytes: value })).to.throw(
        ImproperlyConfiguredException,
        /sessionIdBytes must be a whole number from 16 to 256/,
      );
    });
  }

  it("rejects empty store name", () => {
    expect(() => new ServerSideSessionConfig({ store: "" })).to.throw(
      ImproperlyConfiguredException,
      /store must be/,
    );
  });

  it("rejects object without get", () => {
    expect(() => new ServerSideSessionConfig({ store: {} as Store })).to.throw(
      ImproperlyConfiguredException,
      /store must be/,
    );
  });

  it("returns store instance as given", () => {
    const store = new MemoryStore();

    expect(makeConfig(store).getStoreFromApp(undefined)).to.equal(store);
  });

  it("resolves store name from app", () => {
    const store = new MemoryStore();
    const app = { stores: new StoreRegistry({ stores: { "user-sessions": store } }) };
    const config = new ServerSideSessionConfig({ store: "user-sessions", logger: silentLogger });

    expect(config.getStoreFromApp(app)).to.equal(store);
  });

  it("rejects store name without app", () => {
    const config = new ServerSideSessionConfig({ logger: silentLogger });

    expect(() => config.getStoreFromApp(undefined)).to.throw(
      ImproperlyConfiguredException,
      /"sessions".*Store instance/,
    );
  });
});

describe("ServerSideSessionBackend ids", () => {
  it("generates hex of sessionIdBytes", () => {
    const backend = makeConfig(new MemoryStore()).backend;
    const short = makeConfig(new MemoryStore(), { sessionIdBytes: 16 }).backend;

    expect(backend.generateSessionId()).to.match(/^[0-9a-f]{64}$/);
    expect(short.generateSessionId()).to.match(/^[0-9a-f]{32}$/);
  });

  it("generates distinct ids", () => {
    const backend = makeConfig(new MemoryStore()).backend;
    const ids = new Set(Array.from({ length: 1000 }, () => backend.generateSessionId()));

    expect(ids.size).to.equal(1000);
  });

  it("stores data under cookie id", async () => {
    const store = new SpyStore();
    const client = new TestClient(makeApp(makeConfig(store)));
    await client.get("/set?user=ada");
    const sessionId = client.cookies.get("session")!;

    expect(sessionId).to.match(/^[0-9a-f]{64}$/);
    expect(await store.read(sessionId)).to.deep.equal({ user: "ada" });
    expect(await store.expiresIn(sessionId)).to.equal(1209600);
  });

  it("never looks up malformed ids", async () => {
    const store = new SpyStore();
    const client = new TestClient(makeApp(makeConfig(store)));

    for (const value of ["../../etc/passwd", "ABCDEF".repeat(11), "ab", "null", "0".repeat(31)]) {
      await client.get("/get", { cookies: { session: value } });
    }

    expect(store.calls.get).to.deep.equal([]);
  });
});

describe("ServerSideSessionBackend set-cookie", () => {
  it("sends configured attributes", async () => {
    const config = makeConfig(new MemoryStore(), {
      maxAge: 3600,
      path: "/app",
      domain: "example.test",
      secure: true,
      sameSite: "strict",
    });
    const client = new TestClient(makeApp(config));
    const response = await client.get("/set?a=1");
    const [header] = response.headers.getAll("set-cookie");

    expect(header).to.match(/^session=[0-9a-f]{64}; /);
    expect(header).to.include("Max-Age=3600");
    expect(header).to.include("Path=/app");
    expect(header).to.include("Domain=example.test");
    expect(header).to.include("Secure");
    expect(header).to.include("HttpOnly");
    expect(header).to.include("SameSite=Strict");
  });
});

for (const transport of [inProcess, realServer]) {
  describe(`ServerSideSessionBackend through ${transport.name}`, () => {
    let harness: Harness | null = null;

    async function open(app: ASGIApp, options?: { raiseServerExceptions?: boolean }) {
      harness = await transport.open(app, options);
      return harness;
    }

    afterEach(async () => {
      await harness?.close();
      harness = null;
    });

    it("leaves anonymous requests alone", async () => {
      const store = new SpyStore();
      const browser = (await open(makeApp(makeConfig(store)))).browser();
      const response = await browser.get("/get");

      expect(sessionOf(response)).to.deep.equal({});
      expect(response.setCookies).to.deep.equal([]);
      expect(store.calls.set).to.deep.equal([]);
      expect(store.calls.delete).to.deep.equal([]);
    });

    it("ignores unknown session id", async () => {
      const store = new SpyStore();
      const browser = (await open(makeApp(makeConfig(store)))).browser();
      const planted = "ab".repeat(32);
      browser.setSessionCookie(planted);

      const read = await browser.get("/get");
      await browser.get("/set?user=ada");
      const issued = browser.sessionCookie()!;

      expect(sessionOf(read)).to.deep.equal({});
      expect(issued).to.match(/^[0-9a-f]{64}$/);
      expect(issued).to.not.equal(planted);
      expect(store.calls.set).to.deep.equal([issued]);
      expect(await store.exists(planted)).to.equal(false);
    });

    it("clears unknown id cookie", async () => {
      const store = new SpyStore();
      const browser = (await open(makeApp(makeConfig(store)))).browser();
      browser.setSessionCookie("ab".repeat(32));
      const response = await browser.get("/clear");

      expect(response.setCookies).to.have.length(1);
      expect(response.setCookies[0]).to.include("Max-Age=0");
      expect(browser.sessionCookie()).to.equal(undefined);
    });

    it("ignores expired session id", async () => {
      let now = Date.UTC(2030, 0, 1);
      const store = new SpyStore({ now: () => now });
      const browser = (await open(makeApp(makeConfig(store, { maxAge: 60 })))).browser();
      await browser.get("/set?user=ada");
      const expired = browser.sessionCookie()!;

      now += 61_000;
      const read = await browser.get("/get");
      browser.setSessionCookie(expired);
      await browser.get("/set?user=bob");

      expect(sessionOf(read)).to.deep.equal({});
      expect(browser.sessionCookie()).to.not.equal(expired);
      expect(await store.read(browser.sessionCookie()!)).to.deep.equal({ user: "bob" });
    });

    it("moves data on regenerate", async () => {
      const store = new SpyStore();
      const browser = (await open(makeApp(makeConfig(store)))).browser();
      await browser.get("/set?cart=3");
      const before = browser.sessionCookie()!;

      const login = await browser.get("/login?user=ada");
      const after = browser.sessionCookie()!;

      expect(sessionOf(login)).to.deep.equal({ cart: "3", user: "ada" });
      expect(after).to.match(/^[0-9a-f]{64}$/);
      expect(after).to.not.equal(before);
      expect(await store.exists(before)).to.equal(false);
      expect(await store.read(after)).to.deep.equal({ cart: "3", user: "ada" });
      expect(sessionOf(await browser.get("/get"))).to.deep.equal({ cart: "3", user: "ada" });
    });

    it("deletes entry on clear", async () => {
      const store = new SpyStore();
      const browser = (await open(makeApp(makeConfig(store)))).browser();
      await browser.get("/set?user=ada");
      const sessionId = browser.sessionCookie()!;

      const cleared = await browser.get("/clear");

      expect(cleared.setCookies).to.have.length(1);
      expect(cleared.setCookies[0]).to.match(/^session=null; /);
      expect(cleared.setCookies[0]).to.include("Max-Age=0");
      expect(cleared.setCookies[0]).to.include(EPOCH_EXPIRES);
      expect(store.calls.delete).to.deep.equal([sessionId]);
      expect(await store.exists(sessionId)).to.equal(false);
      expect(browser.sessionCookie()).to.equal(undefined);
    });

    it("uses fresh id after clear", async () => {
      const store = new SpyStore();
      const browser = (await open(makeApp(makeConfig(store)))).browser();
      await browser.get("/set?user=ada");
      const old = browser.sessionCookie()!;

      const response = await browser.get("/clear-set?guest=1");
      const fresh = browser.sessionCookie()!;

      expect(sessionOf(response)).to.deep.equal({ guest: "1" });
      expect(fresh).to.not.equal(old);
      expect(await store.exists(old)).to.equal(false);
      expect(await store.read(fresh)).to.deep.equal({ guest: "1" });
    });

    it("skips write when unchanged", async () => {
      const store = new SpyStore();
      const browser = (await open(makeApp(makeConfig(store)))).browser();
      await browser.get("/set?user=ada");

      const read = await browser.get("/get");
      const same = await browser.get("/set?user=ada");

      expect(sessionOf(read)).to.deep.equal({ user: "ada" });
      expect(read.setCookies).to.deep.equal([]);
      expect(same.setCookies).to.deep.equal([]);
      expect(store.calls.set).to.have.length(1);
    });

    it("rewrites other JSON form once", async () => {
      const store = new SpyStore();
      const browser = (await open(makeApp(makeConfig(store)))).browser();
      const sessionId = "cd".repeat(32);
      await store.set(sessionId, '{"user": "ada"}');
      store.calls.set.length = 0;
      browser.setSessionCookie(sessionId);

      const first = await browser.get("/get");
      const second = await browser.get("/get");

      expect(sessionOf(first)).to.deep.equal({ user: "ada" });
      expect(sessionOf(second)).to.deep.equal({ user: "ada" });
      expect(store.calls.set).to.deep.equal([sessionId]);
      expect(new TextDecoder().decode((await store.get(sessionId))!)).to.equal('{"user":"ada"}');
    });

    it("slides expiry with renewOnAccess", async () => {
      let now = Date.UTC(2030, 0, 1);
      const store = new SpyStore({ now: () => now });
      const config = makeConfig(store, { maxAge: 100, renewOnAccess: true });
      const browser = (await open(makeApp(config))).browser();
      await browser.get("/set?user=ada");
      const sessionId = browser.sessionCookie()!;

      now += 60_000;
      const read = await browser.get("/get");

      expect(await store.expiresIn(sessionId)).to.equal(100);
      expect(read.setCookies).to.have.length(1);
      expect(read.setCookies[0]).to.include(`session=${sessionId}`);
      expect(read.setCookies[0]).to.include("Max-Age=100");
      expect(store.calls.set).to.have.length(1);
    });

    it("keeps expiry without renewOnAccess", async () => {
      let now = Date.UTC(2030, 0, 1);
      const store = new SpyStore({ now: () => now });
      const browser = (await open(makeApp(makeConfig(store, { maxAge: 100 })))).browser();
      await browser.get("/set?user=ada");
      const sessionId = browser.sessionCookie()!;

      now += 60_000;
      await browser.get("/get");

      expect(await store.expiresIn(sessionId)).to.equal(40);
    });

    it("fails with 500 when store fails", async () => {
      const store = new SpyStore();
      const logger = recordingLogger();
      const config = new ServerSideSessionConfig({ store, logger });
      const browser = (await open(makeApp(config), { raiseServerExceptions: false })).browser();
      await browser.get("/set?user=ada");
      const sessionId = browser.sessionCookie()!;

      store.failing.add("get");
      const failed = await browser.get("/get");

      expect(failed.status).to.equal(500);
      expect(failed.setCookies).to.deep.equal([]);
      expect(browser.sessionCookie()).to.equal(sessionId);

      // The backend leaves logging to the app or server that catches the StoreError.
      expect(logger.entries.filter((entry) => entry.level === "error")).to.deep.equal([]);
    });

    it("keeps sessions of parallel clients apart", async () => {
      const store = new SpyStore();
      const connection = await open(makeApp(makeConfig(store)));
      const browsers = Array.from({ length: 40 }, () => connection.browser());

      await Promise.all(browsers.map((browser, i) => browser.get(`/set?owner=${i}`)));
      await Promise.all(browsers.map((browser, i) => browser.get(`/set?step=${i * 2}`)));
      const reads = await Promise.all(browsers.map((browser) => browser.get("/get")));
      const ids = new Set(browsers.map((browser) => browser.sessionCookie()));

      expect(ids.size).to.equal(browsers.length);
      reads.forEach((read, i) => {
        expect(sessionOf(read)).to.deep.equal({ owner: String(i), step: String(i * 2) });
      });
    });
  });
}

/** A request path whose session handling runs each store operation after a first write. */
const PATH_FOR_OPERATION: Record<StoreOperation, string> = {
  get: "/get",
  set: "/set?user=bob",
  delete: "/clear",
};

describe("ServerSideSessionBackend concurrent requests", () => {
  /**
   * Builds an app whose `/slow` request loads the session, reports that through `entered`,
   * and changes the session only once `release` is called. Other paths behave as in `makeApp`.
   */
  function gatedApp(config: ServerSideSessionConfig) {
    let reportEntered!: () => void;
    let release!: () => void;
    const entered = new Promise<void>((resolve) => (reportEntered = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    const plain = makeApp(config);

    const slow: ASGIApp = async (scope, receive, send) => {
      const connection = new ASGIConnection(scope as ConnectionScope, receive, send);
      reportEntered();
      await released;
      connection.session.touched = true;
      await respondJson(send, 200, { session: connection.scope.session ?? null });
    };
    const wrappedSlow = config.middleware.wrap(slow);

    const app: ASGIApp = (scope, receive, send) =>
      scope.type !== "lifespan" && scope.path === "/slow"
        ? wrappedSlow(scope, receive, send)
        : plain(scope, receive, send);

    return { app, entered, release };
  }

  it("drops a write after logout", async () => {
    const store = new SpyStore();
    const { app, entered, release } = gatedApp(makeConfig(store));
    const client = new TestClient(app);
    await client.get("/set?user=ada");
    const sessionId = client.cookies.get("session")!;

    const slow = client.get("/slow");
    await entered;
    await client.get("/clear");
    release();
    const slowResponse = await slow;

    expect(await store.exists(sessionId)).to.equal(false);
    expect(store.calls.set).to.deep.equal([sessionId]);
    expect(slowResponse.headers.getAll("set-cookie")).to.deep.equal([]);
    expect(client.cookies.get("session")).to.equal(undefined);
  });

  it("drops a write after regenerate", async () => {
    const store = new SpyStore();
    const { app, entered, release } = gatedApp(makeConfig(store));
    const client = new TestClient(app);
    await client.get("/set?cart=1");
    const oldId = client.cookies.get("session")!;

    const slow = client.get("/slow");
    await entered;
    await client.get("/login?user=ada");
    const newId = client.cookies.get("session")!;
    release();
    const slowResponse = await slow;

    expect(newId).not.to.equal(oldId);
    expect(await store.exists(oldId)).to.equal(false);
    expect(await store.read(newId)).to.deep.equal({ cart: "1", user: "ada" });
    expect(slowResponse.headers.getAll("set-cookie")).to.deep.equal([]);
    expect(client.cookies.get("session")).to.equal(newId);
  });

  it("writes when the entry exists", async () => {
    const store = new SpyStore();
    const { app, entered, release } = gatedApp(makeConfig(store));
    const client = new TestClient(app);
    await client.get("/set?user=ada");
    const sessionId = client.cookies.get("session")!;

    const slow = client.get("/slow");
    await entered;
    release();
    await slow;

    expect(await store.read(sessionId)).to.deep.equal({ user: "ada", touched: true });
  });
});

describe("ServerSideSessionBackend store errors", () => {
  for (const operation of ["get", "set", "delete"] as const) {
    it(`raises StoreError on ${operation}`, async () => {
      const store = new SpyStore();
      const client = new TestClient(makeApp(makeConfig(store)));
      await client.get("/set?user=ada");
      store.failing.add(operation);

      const path = PATH_FOR_OPERATION[operation];
      let caught: unknown;
      try {
        await client.get(path);
      } catch (error) {
        caught = error;
      }

      expect(caught).to.be.instanceOf(StoreError);
      expect((caught as StoreError).store).to.equal("SpyStore");
      expect((caught as StoreError).operation).to.equal(operation);
      expect((caught as StoreError).message).to.equal(`SpyStore.${operation} failed: disk full`);
    });
  }

  it("names registry store in error", async () => {
    const store = new SpyStore();
    store.failing.add("set");
    const config = new ServerSideSessionConfig({ logger: silentLogger });
    const app = makeApp(config);
    const appWithStores: ASGIApp = (scope, receive, send) => {
      (scope as ConnectionScope).app = {
        stores: new StoreRegistry({ stores: { sessions: store } }),
      };
      return app(scope, receive, send);
    };

    let caught: unknown;
    try {
      await new TestClient(appWithStores).get("/set?a=1");
    } catch (error) {
      caught = error;
    }

    expect((caught as StoreError).message).to.equal('SpyStore "sessions".set failed: disk full');
  });
});

describe("ServerSideSessionBackend in App", () => {
  function makeAppWithStore(store: Store): App {
    const config = new ServerSideSessionConfig({ logger: silentLogger });

    return new App({
      routeHandlers: [
        get("/get", (request) => ({ ...request.session })),
        get("/set", (request) => {
          request.session.user = request.queryParams.get("user");
          return "ok";
        }),
        websocket("/ws", async (socket) => {
          socket.session.visits = 1;
          await socket.accept();
          await socket.receiveText();
        }),
      ],
      middleware: [config.middleware],
      stores: new StoreRegistry({ stores: { sessions: store } }),
      logger: silentLogger,
    });
  }

  it("resolves store by name", async () => {
    const store = new SpyStore();
    const client = new TestClient(makeAppWithStore(store));
    await client.get("/set?user=ada");
    const read = await client.get("/get");

    expect(read.json()).to.deep.equal({ user: "ada" });
    expect(await store.read(client.cookies.get("session")!)).to.deep.equal({ user: "ada" });
  });

  it("answers 500 when store fails", async () => {
    const store = new SpyStore();
    store.failing.add("set");
    const response = await new TestClient(makeAppWithStore(store)).get("/set?user=ada");

    expect(response.status).to.equal(500);
    expect(response.headers.getAll("set-cookie")).to.deep.equal([]);
  });

  it("rejects handshake when store fails", async () => {
    const store = new SpyStore();
    store.failing.add("set");
    const client = new TestClient(makeAppWithStore(store));

    let caught: unknown;
    try {
      await client.websocketConnect("/ws");
    } catch (error) {
      caught = error;
    }

    expect(caught).to.be.instanceOf(WebSocketDisconnect);
    expect((caught as WebSocketDisconnect).closeCode).to.equal(1011);
  });
});

describe("ServerSideSessionBackend with MemoryStore", () => {
  runSessionMiddlewareSuite("ServerSideSessionBackend and MemoryStore", (overrides) =>
    makeConfig(new MemoryStore(), overrides),
  );
});

describe("ServerSideSessionBackend with RedisStore", () => {
  let redis: RedisServer;
  const stores: RedisStore[] = [];
  let namespaceCount = 0;

  before(async () => {
    redis = await startRedisServer();
  });

  after(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    await redis?.stop();
  });

  function redisStore(namespace = `spec${namespaceCount++}`): RedisStore {
    const store = RedisStore.withClient({ url: redis.url, namespace, logger: silentLogger });
    stores.push(store);
    return store;
  }

  runSessionMiddlewareSuite("ServerSideSessionBackend and RedisStore", (overrides) =>
    makeConfig(redisStore(), overrides),
  );

  it("writes Litestar key layout", async () => {
    const client = new TestClient(makeApp(makeConfig(redisStore("LITESTAR"), { maxAge: 600 })));
    await client.get("/set?user=ada");
    const sessionId = client.cookies.get("session")!;
    const raw = new Redis(redis.url);

    try {
      expect(await raw.get(`LITESTAR:${sessionId}`)).to.equal('{"user":"ada"}');
      const ttl = await raw.ttl(`LITESTAR:${sessionId}`);
      expect(ttl).to.be.within(598, 600);
    } finally {
      raw.disconnect();
    }
  });

  it("loads session written by Litestar", async () => {
    const sessionId = "c0ffee".repeat(10) + "0123";
    const raw = new Redis(redis.url);
    try {
      await raw.set(`LITESTAR:${sessionId}`, '{"user":"from-python"}', "EX", 600);
    } finally {
      raw.disconnect();
    }

    const client = new TestClient(makeApp(makeConfig(redisStore("LITESTAR"))));
    const response = await client.get("/get", { cookies: { session: sessionId } });

    expect(response.json()).to.deep.equal({ session: { user: "from-python" } });
  });

  it("fails with 500 when Redis is down", async () => {
    const port = await findFreePort();
    const logger = recordingLogger();
    const store = RedisStore.withClient({ url: `redis://127.0.0.1:${port}`, logger: silentLogger });
    stores.push(store);
    const config = new ServerSideSessionConfig({ store, logger });
    const server = await serve(makeApp(config), { ...SERVE_OPTIONS, logger });

    try {
      const response = await fetch(`http://127.0.0.1:${server.port}/set?user=ada`, {
        signal: AbortSignal.timeout(10_000),
      });

      expect(response.status).to.equal(500);
      expect(response.headers.getSetCookie()).to.deep.equal([]);
    } finally {
      await server.close();
    }

    const errors = logger.entries.filter((entry) => entry.level === "error");
    expect(errors).to.have.length(1);
    expect(errors[0].context.err).to.be.instanceOf(StoreError);
    expect(errors[0].context.err).to.include({ store: "RedisStore", operation: "set" });
  });
});
