/**
 * This library's `serve()` running a bare ASGI app, with or without a session middleware.
 * `BENCH_VARIANT` picks the app:
 * - `hello`: no middleware, a short text body;
 * - `client-counter`, `client-read`, `client-large`: `CookieBackendConfig` sessions;
 * - `server-memory`, `server-redis`: `ServerSideSessionConfig` on `MemoryStore` or on
 *   `RedisStore` at `BENCH_REDIS_URL`;
 * - `client-websocket`: `client-counter` plus idle WebSockets that keep their session.
 */
import { silentLogger } from "../../lib/logger";
import { CookieBackendConfig } from "../../lib/middleware/session/client-side";
import { ServerSideSessionConfig } from "../../lib/middleware/session/server-side";
import { serve } from "../../lib/server";
import { MemoryStore } from "../../lib/stores/memory";
import { RedisStore } from "../../lib/stores/redis";
import type { ASGIApp, HTTPScope, Receive, Send, WebSocketScope } from "../../lib/types/asgi";
import { applySessionWork, counterBody, type SessionWork } from "../fixtures/session-data";
import { BENCH_SECRET } from "./secrets";
import { runServerChild, type BenchServer } from "./child";

/** Stores that hold a connection, closed after the server. */
const storesToClose: RedisStore[] = [];

const HELLO = Buffer.from("Hello, world!");

async function respondText(send: Send, body: Uint8Array): Promise<void> {
  // A fresh list per response, because the session middleware appends its Set-Cookie to it.
  const headers: Array<[string, string]> = [["content-type", "text/plain; charset=utf-8"]];
  await send({ type: "http.response.start", status: 200, headers });
  await send({ type: "http.response.body", body });
}

async function runLifespan(receive: Receive, send: Send): Promise<void> {
  for (;;) {
    const message = await receive();

    if (message.type === "lifespan.startup") {
      await send({ type: "lifespan.startup.complete" });
    } else if (message.type === "lifespan.shutdown") {
      await send({ type: "lifespan.shutdown.complete" });
      return;
    }
  }
}

/**
 * Accepts the socket, sends the session counter once so the client can check that the session
 * was loaded, and waits, idle, for the client to leave. The scope keeps the session alive.
 */
async function holdWebSocket(scope: WebSocketScope, receive: Receive, send: Send): Promise<void> {
  for (;;) {
    const message = await receive();

    if (message.type === "websocket.connect") {
      await send({ type: "websocket.accept" });
      await send({ type: "websocket.send", text: String(scope.session?.count ?? 0) });
    } else if (message.type === "websocket.disconnect") {
      return;
    }
  }
}

const helloApp: ASGIApp = async (scope, receive, send) => {
  if (scope.type === "lifespan") return runLifespan(receive, send);
  if (scope.type === "http") return respondText(send, HELLO);
};

function sessionApp(work: SessionWork): ASGIApp {
  return async (scope, receive, send) => {
    if (scope.type === "lifespan") return runLifespan(receive, send);
    if (scope.type === "websocket") return holdWebSocket(scope, receive, send);

    const count = applySessionWork(work, scopeSessionAccess(scope));
    await respondText(send, Buffer.from(counterBody(count)));
  };
}

function scopeSessionAccess(scope: HTTPScope): {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
} {
  const session = scope.session ?? (scope.session = {});

  return {
    get: (key) => session[key],
    set: (key, value) => {
      session[key] = value;
    },
  };
}

function clientSide(work: SessionWork): ASGIApp {
  const config = new CookieBackendConfig({
    secret: BENCH_SECRET,
    key: "session",
    logger: silentLogger,
  });
  return config.middleware.wrap(sessionApp(work));
}

function serverSide(store: MemoryStore | RedisStore): ASGIApp {
  const config = new ServerSideSessionConfig({ store, key: "session", logger: silentLogger });
  return config.middleware.wrap(sessionApp("counter"));
}

function createRedisStore(): RedisStore {
  const url = process.env.BENCH_REDIS_URL;
  if (!url) throw new Error("BENCH_REDIS_URL is missing; the harness sets it for server-redis");

  const store = RedisStore.withClient({ url, logger: silentLogger });
  storesToClose.push(store);
  return store;
}

function createApp(variant: string): ASGIApp {
  switch (variant) {
    case "hello":
      return helloApp;
    case "client-counter":
    case "client-websocket":
      return clientSide("counter");
    case "client-read":
      return clientSide("read");
    case "client-large":
      return clientSide("large");
    case "server-memory":
      return serverSide(new MemoryStore());
    case "server-redis":
      return serverSide(createRedisStore());
    default:
      throw new Error(`unknown BENCH_VARIANT ${JSON.stringify(variant)} for the ASGI server`);
  }
}

async function startAsgiServer(): Promise<BenchServer> {
  const app = createApp(process.env.BENCH_VARIANT ?? "hello");
  const server = await serve(app, { host: "127.0.0.1", port: 0, logger: silentLogger });

  return {
    port: server.port,
    close: async () => {
      await server.close();
      await Promise.all(storesToClose.map((store) => store.close()));
    },
  };
}

runServerChild(startAsgiServer);
