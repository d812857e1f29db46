import type { Scope } from "../types/asgi";

/**
 * Per-connection state that must outlive any one `ASGIConnection` object: middleware and
 * handlers each build their own connection around the same scope, so the state lives on the
 * scope itself, under a symbol. A shallow copy of the scope (`{ ...scope }`) shares it.
 */
export interface ConnectionState {
  /** Parsed `cookie` header, cached on first read. */
  cookies?: Readonly<Record<string, string>>;
  /** The session cookies the client-side backend read from the request. */
  sessionCookies?: SessionCookieRead;
  /**
   * The request body read in full by `Request.body()`, so that middleware and the handler can
   * each read it. A body read with `Request.stream()` is not kept.
   */
  body?: Promise<Buffer>;
  /** Set once the body has been taken from `receive`, by `body()` or by `stream()`. */
  bodyConsumed?: boolean;
  /** Id of the server-side session, or null when there is none. */
  sessionId: string | null;
  /**
   * Serialized session as loaded, so the backend can tell whether the app changed it; null
   * when the request carried no session, undefined until the session middleware or the
   * backend records it.
   */
  loadedSession?: Buffer | null;
  /** Set by `regenerateSession()`: the next write must move the data to a fresh id. */
  regenerateSession: boolean;
  /** Set by the backend when the stored session must be written even if unchanged. */
  forceSessionWrite: boolean;
}

/** A session cookie value as authenticated, with its plaintext, expiry and secret index. */
export interface OpenedSessionCookie {
  value: string;
  plaintext: Buffer;
  expiresAt: number;
  keyIndex: number;
}

/**
 * The client-side backend's reading of the request's cookies, kept from loading the session
 * to storing it.
 */
export interface SessionCookieRead {
  /** The backend that made the reading. */
  owner: object;
  /** The request's cookies that belong to the session, in chunk order. */
  names: readonly string[];
  /** The session as decrypted in this request; null when it was known already, or absent. */
  opened: OpenedSessionCookie | null;
}

const CONNECTION_STATE = Symbol.for("uws-asgi-sessions.connection-state");

type ScopeWithState = Scope & { [CONNECTION_STATE]?: ConnectionState };

/** Returns the connection state stored on `scope`, creating it on first use. */
export function getConnectionState(scope: Scope): ConnectionState {
  const holder = scope as ScopeWithState;
  let state = holder[CONNECTION_STATE];

  if (state === undefined) {
    // Every field is present from the start, so all states share one object shape.
    state = {
      cookies: undefined,
      sessionCookies: undefined,
      body: undefined,
      bodyConsumed: undefined,
      sessionId: null,
      loadedSession: undefined,
      regenerateSession: false,
      forceSessionWrite: false,
    };
    holder[CONNECTION_STATE] = state;
  }

  return state;
}
