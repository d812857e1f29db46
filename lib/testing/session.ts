import type { SessionData } from "../connection/base";
import { DefineMiddleware } from "../middleware/base";
import {
  BaseBackendConfig,
  BaseSessionBackend,
  SessionMiddleware,
} from "../middleware/session/base";
import type { HTTPScope, Headers, Receive, Scope, SendMessage } from "../types/asgi";

/**
 * Returns the session backend installed on `app`: the first `DefineMiddleware` in
 * `app.middleware` whose argument is a session backend, or a session config in that list.
 * Returns null for a plain ASGI function, whose middleware cannot be inspected.
 */
export function findSessionBackend(app: unknown): BaseSessionBackend | null {
  for (const middleware of middlewareOf(app)) {
    if (middleware instanceof BaseBackendConfig) return middleware.backend;
    if (!(middleware instanceof DefineMiddleware)) continue;

    const args: unknown[] = middleware.args;
    const backend = args.find((arg) => arg instanceof BaseSessionBackend);
    if (backend !== undefined) return backend as BaseSessionBackend;
  }

  return null;
}

function middlewareOf(app: unknown): unknown[] {
  if (app === null || (typeof app !== "object" && typeof app !== "function")) return [];

  const holder = app as { middleware?: unknown; options?: { middleware?: unknown } };
  const list = holder.middleware ?? holder.options?.middleware;
  return Array.isArray(list) ? list : [];
}

/** The output of one pass of the session middleware outside a real request. */
export interface SessionPassResult {
  /** The session as the middleware loaded it. */
  session: SessionData;
  /** Headers of the response start, which carry the Set-Cookie headers. */
  headers: Headers;
}

/**
 * Runs `backend`'s middleware once around a stand-in handler, so the session is loaded and
 * stored exactly as in a real request. With `replacement`, the handler replaces the session
 * with it and starts a response, whose Set-Cookie headers are returned; without, the handler
 * only reads the session.
 */
export async function runSessionPass(
  backend: BaseSessionBackend,
  scope: HTTPScope,
  replacement?: SessionData,
): Promise<SessionPassResult> {
  const result: SessionPassResult = { session: {}, headers: [] };

  const handler = async (
    innerScope: Scope,
    _receive: Receive,
    send: (m: SendMessage) => Promise<void>,
  ) => {
    const httpScope = innerScope as HTTPScope;
    result.session = { ...(httpScope.session ?? {}) };
    if (replacement === undefined) return;

    httpScope.session = { ...replacement };
    await send({ type: "http.response.start", status: 200, headers: [] });
  };

  const receive: Receive = async () => ({
    type: "http.request",
    body: new Uint8Array(0),
    more_body: false,
  });
  const send = async (message: SendMessage) => {
    if (message.type === "http.response.start") result.headers = message.headers ?? [];
  };

  await new SessionMiddleware(handler, backend).handle(scope, receive, send);
  return result;
}
