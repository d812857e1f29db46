import type { SessionData } from "../connection/base";
import { latin1ToUtf8 } from "../datastructures/headers";
import { ASGIProtocolError, ImproperlyConfiguredException } from "../exceptions";
import type { BaseSessionBackend } from "../middleware/session/base";
import type {
  Address,
  ASGIApp,
  Headers,
  HTTPReceiveMessage,
  HTTPScope,
  SendMessage,
  WebSocketScope,
} from "../types/asgi";
import { CookieJar } from "./cookie-jar";
import { LifeSpanHandler } from "./life-span-handler";
import { DEFAULT_TIMEOUT_MS, Deferred } from "./queue";
import { TestResponse } from "./response";
import { findSessionBackend, runSessionPass } from "./session";
import { WebSocketTestSession } from "./websocket-test-session";

/** An ASGI app function, or an object that exposes one as `asgi`, such as `App`. */
export type TestClientApp = ASGIApp | { asgi: ASGIApp };

/**
 * A session config, such as `CookieBackendConfig` or `ServerSideSessionConfig`. Typed by its
 * backend only, because `BaseBackendConfig<Backend>` is invariant in `Backend`.
 */
export interface SessionConfigLike {
  readonly backend: BaseSessionBackend;
}

/** Header fields as an object (a list value repeats the field) or as name-value pairs. */
export type HeadersInput =
  Record<string, string | readonly string[]> | readonly (readonly [string, string])[];

/** Query parameters; list values repeat the parameter. */
export type QueryInput =
  | string
  | URLSearchParams
  | Record<string, string | number | boolean | readonly (string | number | boolean)[]>;

export interface TestClientOptions {
  /** Scheme, host and port of the requests. Default `http://testserver.local`. */
  baseUrl?: string;
  /** The ASGI `root_path` of every scope. Default "". */
  rootPath?: string;
  /** Headers sent with every request; request headers of the same name replace them. */
  headers?: HeadersInput;
  /**
   * Rethrow an exception the app raised from the request that caused it. When off, the
   * request returns a 500 response instead, as a server would send. Default true.
   */
  raiseServerExceptions?: boolean;
  /**
   * The session config whose backend `setSessionData` and `getSessionData` use. Default: the
   * session middleware found in `app.middleware`.
   */
  sessionConfig?: SessionConfigLike;
  /** Milliseconds to wait for lifespan events and WebSocket messages. Default 5000. */
  timeoutMs?: number;
  /** The ASGI `client` address of every scope. Default `["testclient", 50000]`. */
  client?: Address;
  /** The jar holding the client's cookies. Default an empty jar for the `baseUrl` host. */
  cookieJar?: CookieJar;
}

export interface RequestOptions {
  headers?: HeadersInput;
  /** The request body; a string is sent as UTF-8. */
  body?: string | Uint8Array;
  /** A value sent as a JSON body, with `content-type: application/json`. */
  json?: unknown;
  /** Fields sent as an `application/x-www-form-urlencoded` body. */
  form?: Record<string, string>;
  /** Cookies sent with this request only, replacing jar cookies of the same name. */
  cookies?: Record<string, string>;
  query?: QueryInput;
}

export interface WebSocketConnectOptions {
  /** Sent as `sec-websocket-protocol` and as the scope's `subprotocols`. */
  subprotocols?: readonly string[];
  headers?: HeadersInput;
  /** Cookies sent with this handshake only, replacing jar cookies of the same name. */
  cookies?: Record<string, string>;
  query?: QueryInput;
}

const NO_BODY = new Uint8Array(0);

/** Methods whose requests carry `content-length: 0` even without a body, as browsers send them. */
const METHODS_WITH_BODY = new Set(["POST", "PUT", "PATCH"]);

/**
 * Litestar's `TestClient`: drives an ASGI app in-process, without a socket. Requests go through
 * the app's whole middleware stack, cookies persist in `cookies` between requests as a browser
 * keeps them, and `start()` / `close()` run the lifespan protocol.
 *
 * ```ts
 * await TestClient.run(app, async (client) => {
 *   const response = await client.get("/");
 *   expect(response.status).to.equal(200);
 * });
 * ```
 */
export class TestClient {
  readonly app: TestClientApp;
  readonly baseUrl: URL;
  readonly cookies: CookieJar;
  private readonly asgi: ASGIApp;
  private readonly options: Required<
    Pick<TestClientOptions, "rootPath" | "raiseServerExceptions" | "timeoutMs" | "client">
  >;
  private readonly defaultHeaders: Headers;
  private readonly sessionConfig: SessionConfigLike | null;
  private readonly openWebSockets = new Set<WebSocketTestSession>();
  private lifespan: LifeSpanHandler | null = null;

  constructor(app: TestClientApp, options: TestClientOptions = {}) {
    this.app = app;
    this.asgi = resolveAsgiApp(app);
    this.baseUrl = parseBaseUrl(options.baseUrl ?? "http://testserver.local");
    this.cookies = options.cookieJar ?? new CookieJar({ defaultDomain: this.baseUrl.hostname });
    this.defaultHeaders = normalizeHeaders(options.headers);
    this.sessionConfig = options.sessionConfig ?? null;
    this.options = Object.freeze({
      rootPath: options.rootPath ?? "",
      raiseServerExceptions: options.raiseServerExceptions ?? true,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      client: options.client ?? (["testclient", 50000] as Address),
    });
  }

  /** Creates a client, runs `fn` with it between lifespan startup and shutdown, and closes it. */
  static async run<T>(
    app: TestClientApp,
    fn: (client: TestClient) => Promise<T>,
    options?: TestClientOptions,
  ): Promise<T> {
    const client = new TestClient(app, options);
    await client.start();

    try {
      return await fn(client);
    } finally {
      await client.close();
    }
  }

  /**
   * Runs lifespan startup. Requests work without it, but then startup handlers never ran and
   * the scope state is empty.
   *
   * @throws LifespanError when the app reports `lifespan.startup.failed`.
   */
  async start(): Promise<void> {
    if (this.lifespan !== null) return;

    this.lifespan = new LifeSpanHandler(this.asgi, this.options.timeoutMs);
    await this.lifespan.startup();
  }

  /** Closes open WebSocket sessions, then runs lifespan shutdown if `start()` ran. */
  async close(): Promise<void> {
    const sessions = [...this.openWebSockets];
    this.openWebSockets.clear();

    for (const session of sessions) {
      if (!session.closed) await session.close();
    }

    const lifespan = this.lifespan;
    this.lifespan = null;
    if (lifespan !== null) await lifespan.shutdown();
  }

  get(path: string, options?: Omit<RequestOptions, "body" | "json" | "form">) {
    return this.request("GET", path, options);
  }

  head(path: string, options?: Omit<RequestOptions, "body" | "json" | "form">) {
    return this.request("HEAD", path, options);
  }

  post(path: string, options?: RequestOptions) {
    return this.request("POST", path, options);
  }

  put(path: string, options?: RequestOptions) {
    return this.request("PUT", path, options);
  }

  patch(path: string, options?: RequestOptions) {
    return this.request("PATCH", path, options);
  }

  delete(path: string, options?: RequestOptions) {
    return this.request("DELETE", path, options);
  }

  /**
   * Sends one HTTP request through the app and returns its buffered response. Set-Cookie
   * headers of the response update `cookies`.
   *
   * @throws the app's exception, when `raiseServerExceptions` is on.
   * @throws ASGIProtocolError when the app breaks the HTTP message sequence.
   */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<TestResponse> {
    const url = this.buildUrl(path, options.query);
    const { body, contentType } = encodeBody(options);
    const extraHeaders: Headers = [];

    if (contentType !== null) extraHeaders.push(["content-type", contentType]);
    if (body.length > 0 || METHODS_WITH_BODY.has(method.toUpperCase())) {
      extraHeaders.push(["content-length", String(body.length)]);
    }

    const scope: HTTPScope = {
      ...this.connectionScopeFields(url, options.headers, options.cookies, extraHeaders),
      type: "http",
      method: method.toUpperCase(),
      scheme: url.protocol === "https:" ? "https" : "http",
    };

    const response = await this.runHttp(scope, body, url);
    this.storeCookies(response.headers.getAll("set-cookie"), url);
    return response;
  }

  /**
   * Opens a WebSocket connection to the app and resolves once the app accepted it. Set-Cookie
   * headers of the 101 (or of a denial response) update `cookies`.
   *
   * @throws WebSocketDisconnect when the app closes before accepting.
   * @throws WebSocketDenialResponse when the app sends an HTTP response instead.
   */
  async websocketConnect(
    path: string,
    options: WebSocketConnectOptions = {},
  ): Promise<WebSocketTestSession> {
    const url = this.buildUrl(path, options.query);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";

    const subprotocols = [...(options.subprotocols ?? [])];
    const handshakeHeaders: Headers = [
      ["connection", "upgrade"],
      ["upgrade", "websocket"],
      ["sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="],
      ["sec-websocket-version", "13"],
    ];
    if (subprotocols.length > 0) {
      handshakeHeaders.push(["sec-websocket-protocol", subprotocols.join(", ")]);
    }

    const scope: WebSocketScope = {
      ...this.connectionScopeFields(url, options.headers, options.cookies, handshakeHeaders),
      type: "websocket",
      scheme: url.protocol === "wss:" ? "wss" : "ws",
      subprotocols,
    };

    const session = new WebSocketTestSession(scope, {
      url,
      timeoutMs: this.options.timeoutMs,
      raiseServerExceptions: this.options.raiseServerExceptions,
      onHandshakeHeaders: (headers) => this.storeCookies(setCookieValues(headers), url),
    });

    await session.connect(this.asgi);
    this.openWebSockets.add(session);
    return session;
  }

  /**
   * Replaces the session the next request will carry with `data`, through the app's session
   * backend: a client-side backend puts encrypted cookies in the jar, a server-side backend
   * writes the store and puts the session id cookie in the jar. Works for HTTP and WebSocket.
   *
   * @throws ImproperlyConfiguredException when no session backend is known.
   */
  async setSessionData(data: SessionData): Promise<void> {
    const { backend, scope, url } = this.sessionPassSetup();
    const result = await runSessionPass(backend, scope, data);
    this.storeCookies(setCookieValues(result.headers), url);
  }

  /**
   * Returns the session the jar's cookies refer to, as the app's session backend loads it.
   *
   * @throws ImproperlyConfiguredException when no session backend is known.
   */
  async getSessionData(): Promise<SessionData> {
    const { backend, scope } = this.sessionPassSetup();
    const result = await runSessionPass(backend, scope);
    return result.session;
  }

  /** The session backend used by the session helpers. */
  get sessionBackend(): BaseSessionBackend {
    const backend = this.sessionConfig?.backend ?? findSessionBackend(this.app);

    if (backend == null) {
      throw new ImproperlyConfiguredException(
        "no session middleware found on the app: pass sessionConfig to TestClient, as in " +
          "new TestClient(app, { sessionConfig })",
      );
    }

    return backend;
  }

  private sessionPassSetup() {
    const backend = this.sessionBackend;
    const url = this.buildUrl(backend.config.path);
    const scope: HTTPScope = {
      ...this.connectionScopeFields(url),
      type: "http",
      method: "GET",
      scheme: url.protocol === "https:" ? "https" : "http",
      app: typeof this.app === "function" ? undefined : this.app,
    };

    return { backend, scope, url };
  }

  private async runHttp(scope: HTTPScope, body: Uint8Array, url: URL): Promise<TestResponse> {
    const exchange = new HttpExchange(body);

    try {
      await this.asgi(scope, exchange.receive, exchange.send);
    } catch (error) {
      exchange.finish();
      if (this.options.raiseServerExceptions) throw error;
      if (exchange.status === null) return serverErrorResponse(url);
    }

    exchange.finish();
    if (exchange.status === null) {
      if (this.options.raiseServerExceptions) {
        throw new ASGIProtocolError("the app returned without sending http.response.start");
      }
      return serverErrorResponse(url);
    }

    return exchange.toResponse(url);
  }

  private connectionScopeFields(
    url: URL,
    headers?: HeadersInput,
    cookies?: Record<string, string>,
    extraHeaders: Headers = [],
  ) {
    const requestHeaders = mergeHeaders(
      [["host", url.host], ["user-agent", "testclient"], ...this.defaultHeaders, ...extraHeaders],
      normalizeHeaders(headers),
    );

    const cookieHeader = this.cookieHeaderFor(url, cookies);
    if (cookieHeader !== "") requestHeaders.push(["cookie", utf8ToLatin1(cookieHeader)]);

    const port = url.port !== "" ? Number(url.port) : defaultPort(url.protocol);

    return {
      asgi: { version: "3.0" as const, spec_version: "2.5" },
      http_version: "1.1" as const,
      path: decodePath(url.pathname),
      raw_path: url.pathname,
      query_string: url.search.slice(1),
      root_path: this.options.rootPath,
      headers: requestHeaders,
      client: this.options.client,
      server: [url.hostname, port] as Address,
      state: { ...(this.lifespan?.scope.state ?? {}) },
    };
  }

  private cookieHeaderFor(url: URL, overrides: Record<string, string> = {}): string {
    const pairs: string[] = [];
    const overridden = new Set(Object.keys(overrides));

    for (const cookie of this.cookies.cookiesFor(url)) {
      if (!overridden.has(cookie.name)) pairs.push(`${cookie.name}=${cookie.value}`);
    }

    for (const [name, value] of Object.entries(overrides)) pairs.push(`${name}=${value}`);
    return pairs.join("; ");
  }

  private buildUrl(path: string, query?: QueryInput): URL {
    const url = new URL(path, this.baseUrl);
    if (query === undefined) return url;

    const params = new URLSearchParams(url.search);
    for (const [name, value] of queryEntries(query)) params.append(name, value);

    url.search = params.toString();
    return url;
  }

  private storeCookies(latin1Values: Iterable<string>, url: URL): void {
    const values = [...latin1Values].map(latin1ToUtf8);
    const httpUrl = new URL(url);
    httpUrl.protocol = url.protocol === "wss:" || url.protocol === "https:" ? "https:" : "http:";
    this.cookies.storeResponseCookies(values, httpUrl);
  }
}

/** Creates a `TestClient`; call `start()` to run lifespan startup. */
export function createTestClient(app: TestClientApp, options?: TestClientOptions): TestClient {
  return new TestClient(app, options);
}

/** One HTTP request and its response, on the app's side of the ASGI interface. */
class HttpExchange {
  status: number | null = null;
  private readonly requestBody: Uint8Array;
  private readonly done = new Deferred<void>();
  private bodySent = false;
  private complete = false;
  private headers: Headers = [];
  private trailers: Headers = [];
  private readonly chunks: Buffer[] = [];

  constructor(requestBody: Uint8Array) {
    this.requestBody = requestBody;
  }

  /** The ASGI `receive`: the whole body at once, then `http.disconnect` once the response ends. */
  readonly receive = async (): Promise<HTTPReceiveMessage> => {
    if (!this.bodySent) {
      this.bodySent = true;
      return { type: "http.request", body: this.requestBody, more_body: false };
    }

    await this.done.promise;
    return { type: "http.disconnect" };
  };

  readonly send = async (message: SendMessage): Promise<void> => {
    switch (message.type) {
      case "http.response.start":
        if (this.status !== null) throw new ASGIProtocolError("http.response.start sent twice");
        this.status = message.status;
        this.headers = message.headers ?? [];
        return;
      case "http.response.body":
        this.appendBody(message.body, message.more_body ?? false);
        return;
      case "http.response.trailers":
        this.trailers.push(...(message.headers ?? []));
        return;
      default:
        throw new ASGIProtocolError(`an HTTP app cannot send ${message.type}`);
    }
  };

  finish(): void {
    this.done.resolve();
  }

  toResponse(url: URL): TestResponse {
    return new TestResponse(
      this.status!,
      this.headers,
      Buffer.concat(this.chunks),
      url,
      this.trailers,
    );
  }

  private appendBody(body: Uint8Array | undefined, moreBody: boolean): void {
    if (this.status === null) {
      throw new ASGIProtocolError("http.response.body sent before http.response.start");
    }

    if (this.complete) {
      throw new ASGIProtocolError("http.response.body sent after the final body");
    }

    if (body !== undefined && body.length > 0) this.chunks.push(Buffer.from(body));
    if (moreBody) return;

    this.complete = true;
    this.done.resolve();
  }
}

function resolveAsgiApp(app: TestClientApp): ASGIApp {
  if (typeof app === "function") return app;

  const asgi = (app as { asgi?: unknown } | null)?.asgi;
  if (typeof asgi === "function") return asgi as ASGIApp;

  throw new ImproperlyConfiguredException(
    "TestClient needs an ASGI app function (scope, receive, send) or an object with an asgi " +
      "property, such as App",
  );
}

function parseBaseUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    url = new URL("invalid:");
  }

  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ImproperlyConfiguredException(
      `baseUrl must be an absolute http or https URL, got ${JSON.stringify(value)}; use ` +
        '"http://testserver.local"',
    );
  }

  return url;
}

function encodeBody(options: RequestOptions): { body: Uint8Array; contentType: string | null } {
  if (options.json !== undefined) {
    return {
      body: Buffer.from(JSON.stringify(options.json), "utf8"),
      contentType: "application/json",
    };
  }

  if (options.form !== undefined) {
    const text = new URLSearchParams(options.form).toString();
    return { body: Buffer.from(text, "utf8"), contentType: "application/x-www-form-urlencoded" };
  }

  if (options.body === undefined) return { body: NO_BODY, contentType: null };

  const body = typeof options.body === "string" ? Buffer.from(options.body, "utf8") : options.body;
  return { body, contentType: null };
}

function serverErrorResponse(url: URL): TestResponse {
  const body = Buffer.from("Internal Server Error", "utf8");
  const headers: Headers = [["content-type", "text/plain; charset=utf-8"]];
  return new TestResponse(500, headers, body, url);
}

/** Lower-cases names and turns UTF-8 values into the latin-1 strings of their bytes. */
function normalizeHeaders(input: HeadersInput | undefined): Headers {
  if (input === undefined) return [];

  const headers: Headers = [];
  const entries = Array.isArray(input) ? input : Object.entries(input);

  for (const [name, value] of entries as [string, string | readonly string[]][]) {
    const values = typeof value === "string" ? [value] : value;
    for (const item of values) headers.push([name.toLowerCase(), utf8ToLatin1(item)]);
  }

  return headers;
}

/** Returns `base` without the names that `overrides` sets, followed by `overrides`. */
function mergeHeaders(base: Headers, overrides: Headers): Headers {
  const replaced = new Set(overrides.map(([name]) => name));
  return [...base.filter(([name]) => !replaced.has(name)), ...overrides];
}

function setCookieValues(headers: Headers): string[] {
  return headers.filter(([name]) => name.toLowerCase() === "set-cookie").map(([, value]) => value);
}

function queryEntries(query: QueryInput): [string, string][] {
  if (typeof query === "string") return [...new URLSearchParams(query)];
  if (query instanceof URLSearchParams) return [...query];

  const entries: [string, string][] = [];
  for (const [name, value] of Object.entries(query)) {
    const values = Array.isArray(value) ? value : [value];
    for (const item of values) entries.push([name, String(item)]);
  }

  return entries;
}

function utf8ToLatin1(value: string): string {
  return Buffer.from(value, "utf8").toString("latin1");
}

/** Decodes percent escapes as UTF-8, keeping the raw path when an escape is malformed. */
function decodePath(rawPath: string): string {
  try {
    return decodeURIComponent(rawPath);
  } catch {
    return rawPath;
  }
}

function defaultPort(protocol: string): number {
  return protocol === "https:" || protocol === "wss:" ? 443 : 80;
}
