import { randomBytes } from "node:crypto";

import { App } from "../lib/app/app";
import { get, post, websocket } from "../lib/app/handlers";
import { Redirect, Response } from "../lib/app/response";
import type { Request } from "../lib/connection/request";
import type { WebSocket } from "../lib/connection/websocket";
import { WebSocketDisconnect } from "../lib/exceptions";
import type { Logger } from "../lib/logger";
import { CookieBackendConfig } from "../lib/middleware/session/client-side";
import { ServerSideSessionConfig } from "../lib/middleware/session/server-side";
import type { Store } from "../lib/stores/base";

export interface DemoAppOptions {
  /** Session secret of 16, 24 or 32 bytes. */
  secret: Uint8Array;
  /** Length of the random text the "large" button stores; the default needs 3 cookies. */
  largeValueLength?: number;
  /** Mark the session cookie Secure; only for a demo served over HTTPS. Default false. */
  secureCookies?: boolean;
  /**
   * Keep sessions in this store, with only a session id in the cookie, in place of encrypted
   * cookies. The secret is then unused.
   */
  store?: Store;
  logger?: Logger;
}

/** The part of the session the page shows. */
interface SessionSummary {
  count: number;
  user: string | null;
  wsVisits: number;
  largeLength: number;
}

/**
 * Random hex does not compress and is about 1.33 times longer in base64, so 7000 characters
 * make a cookie of roughly 9.4 KB: three chunks.
 */
const DEFAULT_LARGE_VALUE_LENGTH = 7000;

const MAX_ECHO_MESSAGES = 1000;

function summarize(session: Record<string, unknown>): SessionSummary {
  return {
    count: Number(session.count ?? 0),
    user: typeof session.user === "string" ? session.user : null,
    wsVisits: Number(session.ws_visits ?? 0),
    largeLength: typeof session.large === "string" ? session.large.length : 0,
  };
}

function randomText(length: number): string {
  return randomBytes(Math.ceil(length / 2))
    .toString("hex")
    .slice(0, length);
}

/**
 * Builds the demo: a counter, a log-in form, buttons that grow the session past one cookie
 * and shrink it back, and a WebSocket that counts upgrades in the session and echoes text.
 */
export function createDemoApp(options: DemoAppOptions): App {
  const largeLength = options.largeValueLength ?? DEFAULT_LARGE_VALUE_LENGTH;
  const cookieOptions = { secure: options.secureCookies ?? false, logger: options.logger };
  const sessions =
    options.store === undefined
      ? new CookieBackendConfig({ secret: options.secret, ...cookieOptions })
      : new ServerSideSessionConfig({ store: options.store, ...cookieOptions });

  return new App({
    logger: options.logger,
    middleware: [sessions.middleware],
    routeHandlers: [
      get("/", () => new Response(PAGE, { mediaType: "text/html; charset=utf-8" })),
      get("/api/session", (request) => summarize(request.session)),
      post("/api/increment", incrementCount, { statusCode: 200 }),
      post("/api/login", logIn),
      post("/api/logout", logOut),
      post(
        "/api/large",
        (request) => {
          request.session.large = randomText(largeLength);
          return summarize(request.session);
        },
        { statusCode: 200 },
      ),
      post(
        "/api/shrink",
        (request) => {
          delete request.session.large;
          return summarize(request.session);
        },
        { statusCode: 200 },
      ),
      websocket("/ws", echoWithSession),
    ],
  });
}

function incrementCount(request: Request): SessionSummary {
  request.session.count = Number(request.session.count ?? 0) + 1;
  return summarize(request.session);
}

/** Logs in with the submitted name; the session moves to a fresh cookie first. */
async function logIn(request: Request): Promise<Response> {
  const form = new URLSearchParams(await request.text());
  const username = (form.get("username") ?? "").trim().slice(0, 64);

  if (username === "") return Response.json({ error: "username is required" }, { status: 400 });

  request.regenerateSession();
  request.session.user = username;
  return new Redirect("/");
}

function logOut(request: Request): Response {
  request.clearSession();
  return new Redirect("/");
}

/**
 * Counts the upgrade in `ws_visits`; the 101 response carries the new cookie. Then sends the
 * session as loaded and echoes every text message back.
 */
async function echoWithSession(socket: WebSocket): Promise<void> {
  const loaded = summarize(socket.session);
  socket.session.ws_visits = loaded.wsVisits + 1;

  await socket.accept();
  await socket.sendJson({ type: "session", session: loaded });

  try {
    for (let i = 0; i < MAX_ECHO_MESSAGES; i++) {
      const text = await socket.receiveText();
      await socket.sendJson({ type: "echo", text });
    }
    await socket.close();
  } catch (error) {
    if (!(error instanceof WebSocketDisconnect)) throw error;
  }
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Session demo</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; }
  section { border: 1px solid #ccc; padding: 1rem; margin-bottom: 1rem; }
  code { background: #f3f3f3; padding: 0 0.25rem; }
</style>
</head>
<body>
<h1>Encrypted cookie sessions</h1>
<section>
  <p>Count: <strong id="count">0</strong></p>
  <button id="increment">Increment</button>
</section>
<section>
  <p>User: <strong id="user">nobody</strong></p>
  <form method="post" action="/api/login">
    <input name="username" placeholder="name" required>
    <button>Log in</button>
  </form>
  <form method="post" action="/api/logout"><button>Log out</button></form>
</section>
<section>
  <p>Large value: <strong id="large">0</strong> characters (more than one cookie holds)</p>
  <button id="grow">Store a large value</button>
  <button id="shrink">Shrink</button>
</section>
<section>
  <p>WebSocket upgrades: <strong id="ws-visits">0</strong></p>
  <button id="connect">Connect</button>
  <input id="echo-text" placeholder="message">
  <button id="echo">Echo</button>
  <pre id="log"></pre>
</section>
<script>
  const show = (summary) => {
    document.getElementById("count").textContent = summary.count;
    document.getElementById("user").textContent = summary.user ?? "nobody";
    document.getElementById("large").textContent = summary.largeLength;
    document.getElementById("ws-visits").textContent = summary.wsVisits;
  };
  const call = async (method, path) => show(await (await fetch(path, { method })).json());
  const log = (line) => { document.getElementById("log").textContent += line + "\\n"; };
  let socket = null;

  document.getElementById("increment").onclick = () => call("POST", "/api/increment");
  document.getElementById("grow").onclick = () => call("POST", "/api/large");
  document.getElementById("shrink").onclick = () => call("POST", "/api/shrink");
  document.getElementById("connect").onclick = () => {
    socket = new WebSocket(location.origin.replace(/^http/, "ws") + "/ws");
    socket.onmessage = (event) => log(event.data);
    socket.onclose = () => call("GET", "/api/session");
  };
  document.getElementById("echo").onclick = () => {
    if (socket) socket.send(document.getElementById("echo-text").value);
  };
  call("GET", "/api/session");
</script>
</body>
</html>
`;
