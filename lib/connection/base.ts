import { parseCookieHeader } from "../datastructures/cookie-parser";
import { latin1ToUtf8, RequestHeaders } from "../datastructures/headers";
import { ClientDisconnectedError, ImproperlyConfiguredException } from "../exceptions";
import type {
  Address,
  ConnectionScope,
  Receive,
  RouteHandlerInfo,
  Send,
  SendMessage,
} from "../types/asgi";
import { getConnectionState } from "./state";

/** Session data as the app sees it: a JSON-like object. */
export type SessionData = Record<string, unknown>;

const emptyReceive: Receive = () => Promise.reject(new ClientDisconnectedError("no receive"));
const emptySend: Send = (_message: SendMessage) =>
  Promise.reject(new ClientDisconnectedError("no send"));

/**
 * The parts of an HTTP request or WebSocket handshake that both share: headers, cookies, URL,
 * parameters, state and the session. Cheap to build: every property is read lazily from the
 * scope.
 */
export class ASGIConnection<S extends ConnectionScope = ConnectionScope> {
  readonly scope: S;
  readonly receive: Receive;
  readonly send: Send;
  private headersView?: RequestHeaders;
  private parsedUrl?: URL;
  private parsedQuery?: URLSearchParams;

  constructor(scope: S, receive: Receive = emptyReceive, send: Send = emptySend) {
    this.scope = scope;
    this.receive = receive;
    this.send = send;
  }

  get headers(): RequestHeaders {
    this.headersView ??= new RequestHeaders(this.scope.headers);
    return this.headersView;
  }

  /** Request cookies by name; see `parseCookieHeader` for the parsing rules. */
  get cookies(): Readonly<Record<string, string>> {
    const state = getConnectionState(this.scope);

    if (state.cookies === undefined) {
      const fields = this.headers.getAll("cookie").map(latin1ToUtf8);
      state.cookies = fields.length === 0 ? {} : parseCookieHeader(fields);
    }

    return state.cookies;
  }

  /** The full request URL, built from the scheme, the `host` header, root path, path and query. */
  get url(): URL {
    if (this.parsedUrl !== undefined) return this.parsedUrl;

    const { scheme, server, root_path, path, query_string } = this.scope;
    const host = this.headers.get("host") ?? (server ? `${server[0]}:${server[1]}` : "localhost");
    const query = query_string === "" ? "" : `?${latin1ToUtf8(query_string)}`;
    const fullPath = `${root_path}${path}`;

    try {
      this.parsedUrl = new URL(`${scheme}://${host}${encodeURI(fullPath)}${query}`);
    } catch {
      // A malformed Host header must not make the URL unreadable.
      this.parsedUrl = new URL(`${scheme}://localhost${encodeURI(fullPath)}${query}`);
    }

    return this.parsedUrl;
  }

  /** Query parameters, with percent escapes decoded as UTF-8 and duplicates kept. */
  get queryParams(): URLSearchParams {
    this.parsedQuery ??= new URLSearchParams(latin1ToUtf8(this.scope.query_string));
    return this.parsedQuery;
  }

  get pathParams(): Record<string, unknown> {
    return this.scope.path_params ?? {};
  }

  /** State shared from lifespan startup, copied into this scope by the server. */
  get state(): Record<string, unknown> {
    return this.scope.state;
  }

  get client(): Address | null {
    return this.scope.client;
  }

  get routeHandler(): RouteHandlerInfo | undefined {
    return this.scope.route_handler;
  }

  get app(): unknown {
    return this.scope.app;
  }

  /**
   * The session loaded by `SessionMiddleware`. Mutate it in place or replace it with
   * `setSession`. After `clearSession`, reading it starts a new, empty session.
   *
   * @throws ImproperlyConfiguredException when no session middleware ran for this route.
   */
  get session(): SessionData {
    if (!("session" in this.scope)) {
      throw new ImproperlyConfiguredException(
        "'session' is not defined in the scope: install a session middleware, such as " +
          "CookieBackendConfig({ secret }).middleware, on the app or on this route",
      );
    }

    if (this.scope.session == null) this.scope.session = {};
    return this.scope.session;
  }

  /** Replaces the session data. */
  setSession(value: SessionData): void {
    this.scope.session = value;
  }

  /** Empties the session; the backend then deletes it and sends clearing cookies. */
  clearSession(): void {
    this.scope.session = null;
    getConnectionState(this.scope).sessionId = null;
  }

  /**
   * Moves the session to a new id when it is next written, and deletes the old entry. Call it
   * when the user's privilege changes, such as at log-in, to defeat session fixation.
   */
  regenerateSession(): void {
    getConnectionState(this.scope).regenerateSession = true;
  }

  /** The server-side session id, or null when there is none or the backend is client-side. */
  getSessionId(): string | null {
    return getConnectionState(this.scope).sessionId;
  }
}
