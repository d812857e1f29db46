import { parseCookieHeader } from "../datastructures/cookie-parser";
import { latin1ToUtf8, RequestHeaders } from "../datastructures/headers";
import { ClientDisconnectedError, ImproperlyConfiguredException } from "../exceptions";
import type {
  Address,
  ConnectionScope,
  Headers,
  Receive,
  RouteHandlerInfo,
  Send,
  SendMessage,
} from "../types/asgi";
import { getConnectionState } from "./state";

/** Session data in the form handlers read and write it: a JSON-like object. */
export type SessionData = Record<string, unknown>;

/**
 * RFC 3986 section 3.2.2 host (a registered name or a bracketed IP literal) with an optional
 * port. Anything else, such as "@" or "/", would let the header rewrite the URL.
 */
const VALID_HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::\d{1,5})?$/;

/** Percent-encodes a decoded path, including "?" and "#", which would end the path. */
function encodePath(path: string): string {
  return encodeURI(path).replace(/[?#]/g, (char) => (char === "?" ? "%3F" : "%23"));
}

/** Returns the URL for `authority`, or null when there is none or `URL` rejects it. */
function parseUrl(scheme: string, authority: string | null, rest: string): URL | null {
  if (authority === null) return null;

  try {
    return new URL(`${scheme}://${authority}${rest}`);
  } catch {
    return null;
  }
}

/**
 * Returns the `cookie` header fields decoded as UTF-8: one string for the usual single field,
 * a list for several, and an empty string for none.
 */
function readCookieFields(headers: Headers): string | string[] {
  let first: string | null = null;
  let fields: string[] | null = null;

  for (let i = 0; i < headers.length; i++) {
    const header = headers[i];
    if (header[0] !== "cookie") continue;

    const value = latin1ToUtf8(header[1]);
    if (first === null) first = value;
    else (fields ??= [first]).push(value);
  }

  return fields ?? first ?? "";
}

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

    state.cookies ??= parseCookieHeader(readCookieFields(this.scope.headers));
    return state.cookies;
  }

  /**
   * The full request URL, built from the scheme, the `host` header (or the server address),
   * root path, path and query. The path is taken from `raw_path` when the server set it, so
   * percent escapes stay as the client sent them. A host that `URL` rejects, such as
   * `a:99999` or `[1.2.3.4]`, is replaced by the server address, then by `localhost`.
   */
  get url(): URL {
    if (this.parsedUrl !== undefined) return this.parsedUrl;

    const { scheme, query_string } = this.scope;
    const query = query_string === "" ? "" : `?${latin1ToUtf8(query_string).replace(/#/g, "%23")}`;
    const rest = `${this.encodedPath()}${query}`;

    this.parsedUrl =
      parseUrl(scheme, this.hostHeader(), rest) ??
      parseUrl(scheme, this.serverAuthority(), rest) ??
      new URL(`${scheme}://localhost${rest}`);

    return this.parsedUrl;
  }

  /** Returns the `host` header when it has the shape of a host, else null. */
  private hostHeader(): string | null {
    const host = this.headers.get("host");
    return host !== undefined && VALID_HOST.test(host) ? host : null;
  }

  /** Returns the server address as a URL authority, or null when the scope has none. */
  private serverAuthority(): string | null {
    const server = this.scope.server;
    if (server === null) return null;

    const address = server[0].includes(":") ? `[${server[0]}]` : server[0];
    return server[1] === null ? address : `${address}:${server[1]}`;
  }

  /**
   * Returns the root path and path, percent-encoded. ASGI leaves open whether `path` already starts
   * with `root_path` (asgiref's spec derives PATH_INFO by stripping it), so both are accepted.
   */
  private encodedPath(): string {
    const { root_path: rootPath, path, raw_path: rawPath } = this.scope;
    // `new URL` percent-encodes what remains of non-ASCII text in the raw path.
    const encoded = rawPath ? latin1ToUtf8(rawPath) : encodePath(path);
    const fullPath =
      rootPath && !path.startsWith(rootPath) ? encodePath(rootPath) + encoded : encoded;

    return fullPath.startsWith("/") ? fullPath : `/${fullPath}`;
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

  /** Returns the server-side session id, or null for no session or a client-side backend. */
  getSessionId(): string | null {
    return getConnectionState(this.scope).sessionId;
  }
}
