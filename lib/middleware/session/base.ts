import { ASGIConnection, type SessionData } from "../../connection/base";
import { getConnectionState } from "../../connection/state";
import {
  isValidCookieDomain,
  isValidCookiePath,
  MAX_COOKIE_MAX_AGE,
} from "../../datastructures/cookie";
import { ImproperlyConfiguredException } from "../../exceptions";
import { defaultLogger, validateLogger, type Logger } from "../../logger";
import { describeValue, validateBoolean } from "../../validation";
import type {
  ASGIApp,
  ConnectionScope,
  HTTPResponseStartEvent,
  Receive,
  Scope,
  Send,
  SendMessage,
  WebSocketAcceptEvent,
  WebSocketResponseStartEvent,
} from "../../types/asgi";
import { AbstractMiddleware, DefineMiddleware } from "../base";
import { buildExcludePathPattern } from "../exclude";

export const ONE_DAY_IN_SECONDS = 60 * 60 * 24;

/** The outgoing messages that can carry Set-Cookie headers for the session. */
export type SessionCarrierMessage =
  HTTPResponseStartEvent | WebSocketAcceptEvent | WebSocketResponseStartEvent;

export type SameSite = "lax" | "strict" | "none";

/** Turns session data into text and back; JSON by default. */
export interface SessionSerializer {
  serialize(data: SessionData): string;
  deserialize(text: string): unknown;
}

export const jsonSerializer: SessionSerializer = Object.freeze({
  serialize: (data: SessionData) => JSON.stringify(data),
  deserialize: (text: string) => JSON.parse(text) as unknown,
});

/** Options that every session backend accepts. */
export interface BaseBackendOptions {
  /** Cookie name; a session split into chunks uses `key-0`, `key-1`, ... Default `session`. */
  key?: string;
  /** Cookie and session lifetime in seconds. Default 14 days. */
  maxAge?: number;
  /** Scope types the middleware handles. Default both `http` and `websocket`. */
  scopes?: Iterable<"http" | "websocket">;
  /** Cookie Path. Default `/`. */
  path?: string;
  /** Cookie Domain. Default none, so the cookie is host-only. */
  domain?: string | null;
  /** Cookie Secure attribute. Default false. */
  secure?: boolean;
  /** Cookie HttpOnly attribute. Default true. */
  httpOnly?: boolean;
  /** Cookie SameSite attribute. Default `lax`. */
  sameSite?: SameSite | "Lax" | "Strict" | "None";
  /** Regular expressions searched for in the request path; a match skips the middleware. */
  exclude?: string | readonly string[] | null;
  /** A route handler whose `opt[excludeOptKey]` is truthy skips the middleware. */
  excludeOptKey?: string;
  /** Turns session data into text and back. Default JSON. */
  serializer?: SessionSerializer;
  /** Logger for rejected cookies, unreadable stored sessions and dropped writes. */
  logger?: Logger;
}

/** RFC 6265 section 4.1.1: a cookie name is an RFC 7230 token. */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

const DEFAULT_MAX_AGE = 14 * ONE_DAY_IN_SECONDS;

/**
 * Litestar's `BaseBackendConfig`: the cookie and middleware options every session backend
 * shares, validated once here. Subclasses add their own options and create their backend.
 */
export abstract class BaseBackendConfig<Backend extends BaseSessionBackend = BaseSessionBackend> {
  readonly key: string;
  readonly maxAge: number;
  readonly scopes: ReadonlySet<"http" | "websocket">;
  readonly path: string;
  readonly domain: string | null;
  readonly secure: boolean;
  readonly httpOnly: boolean;
  readonly sameSite: SameSite;
  readonly exclude: string | readonly string[] | null;
  /** `exclude` compiled into one expression; null when it excludes nothing. */
  readonly excludePattern: RegExp | null;
  readonly excludeOptKey: string;
  readonly serializer: SessionSerializer;
  readonly logger: Logger;
  private backendInstance?: Backend;

  constructor(options: BaseBackendOptions = {}) {
    this.key = validateKey(options.key ?? "session");
    this.maxAge = validateMaxAge(options.maxAge ?? DEFAULT_MAX_AGE);
    this.scopes = validateScopes(options.scopes ?? ["http", "websocket"]);
    this.path = validatePath(options.path ?? "/");
    this.domain = options.domain == null ? null : validateDomain(options.domain);
    this.secure = validateBoolean("secure", options.secure ?? false);
    this.httpOnly = validateBoolean("httpOnly", options.httpOnly ?? true);
    this.sameSite = validateSameSite(options.sameSite ?? "lax", this.secure);
    this.exclude = validateExclude(options.exclude ?? null);
    this.excludePattern = buildExcludePathPattern(this.exclude, new.target.name);
    this.excludeOptKey = validateExcludeOptKey(options.excludeOptKey ?? "skip_session");
    this.serializer = validateSerializer(options.serializer ?? jsonSerializer);
    this.logger = validateLogger(options.logger ?? defaultLogger());

    validatePrefixRules(this.key, this.secure, this.path, this.domain);
  }

  /** Creates the backend for this config; called once, on first use. */
  protected abstract createBackend(): Backend;

  /** The backend built from this config, shared by every middleware it creates. */
  get backend(): Backend {
    this.backendInstance ??= this.createBackend();
    return this.backendInstance;
  }

  /**
   * A `DefineMiddleware` for `App({ middleware: [...] })`; `config.middleware.wrap(app)`
   * wraps any ASGI app with sessions.
   */
  get middleware(): DefineMiddleware<[Backend]> {
    return new DefineMiddleware(SessionMiddleware<Backend>, this.backend);
  }
}

/**
 * Litestar's `BaseSessionBackend`: moves session data between the connection and its storage.
 * Subclasses decide where the data lives; the middleware decides when it is loaded and saved.
 */
// The two base classes refer to each other, so one side of the cycle must leave its
// type parameter open.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyBackendConfig = BaseBackendConfig<any>;

export abstract class BaseSessionBackend<Config extends AnyBackendConfig = AnyBackendConfig> {
  readonly config: Config;

  constructor(config: Config) {
    this.config = config;
  }

  /** Serializes session data to bytes with the config's serializer. */
  serializeData(data: SessionData, _scope?: Scope): Buffer {
    return Buffer.from(this.config.serializer.serialize(data), "utf8");
  }

  /**
   * Deserializes stored bytes into session data.
   *
   * @throws Error when the bytes do not decode to a plain object.
   */
  deserializeData(data: Uint8Array | string): SessionData {
    const text = typeof data === "string" ? data : bytesToText(data);
    const value = this.config.serializer.deserialize(text);

    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new TypeError("session data must deserialize to an object");
    }

    return value as SessionData;
  }

  /**
   * Returns true when `session` differs from what was loaded for this connection, or when a
   * write was requested regardless (regeneration, or a backend forcing a renewal). A caller
   * that has serialized `session` already passes the bytes as `serialized`, so they are not
   * computed twice.
   */
  sessionChanged(
    session: SessionData | null,
    connection: ASGIConnection,
    serialized?: Buffer,
  ): boolean {
    const state = getConnectionState(connection.scope);
    if (state.regenerateSession || state.forceSessionWrite) return true;

    const loaded = state.loadedSession ?? null;
    const current = isEmptySession(session)
      ? null
      : (serialized ?? this.serializeData(session!, connection.scope));
    if (current === null || loaded === null) return current !== loaded;

    return !current.equals(loaded);
  }

  /** Returns the id of the session in storage, or null when the concept does not apply. */
  abstract getSessionId(connection: ASGIConnection): string | null;

  /** Writes the session into the outgoing message, as Set-Cookie headers. */
  abstract storeInMessage(
    session: SessionData | null,
    message: SessionCarrierMessage,
    connection: ASGIConnection,
  ): Promise<void>;

  /** Loads the session for this connection; an empty object when there is none or it is bad. */
  abstract loadFromConnection(connection: ASGIConnection): Promise<SessionData>;
}

/**
 * Returns true for a missing or cleared session and for one without a defined value: keys
 * holding `undefined` are dropped by JSON, so such a session would be stored as `{}`.
 */
export function isEmptySession(session: SessionData | null | undefined): boolean {
  if (session == null) return true;

  for (const key in session) {
    if (Object.hasOwn(session, key) && session[key] !== undefined) return false;
  }
  return true;
}

function isSessionCarrier(message: SendMessage): message is SessionCarrierMessage {
  return (
    message.type === "http.response.start" ||
    message.type === "websocket.accept" ||
    message.type === "websocket.http.response.start"
  );
}

/**
 * Litestar's `SessionMiddleware`: loads the session into `scope.session` before the app runs
 * and has the backend write it when the response starts. On WebSocket scopes the session is
 * written on `websocket.accept` (the 101 response) or on a denial response, never in frames.
 */
export class SessionMiddleware<
  Backend extends BaseSessionBackend = BaseSessionBackend,
> extends AbstractMiddleware {
  readonly backend: Backend;

  constructor(app: ASGIApp, backend: Backend) {
    const config = backend.config;
    super(app, {
      exclude: config.excludePattern,
      excludeOptKey: config.excludeOptKey,
      scopes: config.scopes,
    });
    this.backend = backend;
  }

  async handle(scope: Scope, receive: Receive, send: Send): Promise<void> {
    const connectionScope = scope as ConnectionScope;
    const connection = new ASGIConnection(connectionScope, receive, send);
    const state = getConnectionState(connectionScope);

    // Cleared first, so a session middleware nested on the same scope takes its own snapshot.
    state.loadedSession = undefined;
    const session = await this.backend.loadFromConnection(connection);
    connectionScope.session = session;

    // A backend may record the bytes it loaded (the client-side one records the decrypted
    // plaintext), which spares serializing the session once more here.
    if (state.loadedSession === undefined) {
      state.loadedSession = isEmptySession(session) ? null : this.backend.serializeData(session);
    }
    state.sessionId = this.backend.getSessionId(connection);

    await this.app(scope, receive, this.createSendWrapper(connection));
  }

  /**
   * Wraps `send` so the session is stored in the message that starts the response. The backend
   * writes into a copy of that message and of its headers, because an app may send the same
   * message object or headers array in every response, or freeze it.
   */
  createSendWrapper(connection: ASGIConnection): Send {
    const send = connection.send;
    const backend = this.backend;

    return async (message) => {
      if (!isSessionCarrier(message)) return send(message);

      const headers = message.headers === undefined ? [] : [...message.headers];
      const carrier = { ...message, headers };
      await backend.storeInMessage(connection.scope.session ?? null, carrier, connection);
      return send(carrier);
    };
  }
}

/** Decodes UTF-8 bytes without copying them first. */
function bytesToText(data: Uint8Array): string {
  const bytes = Buffer.isBuffer(data)
    ? data
    : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return bytes.toString("utf8");
}

function validateKey(key: string): string {
  if (typeof key !== "string" || key === "") {
    throw new ImproperlyConfiguredException(
      `key must be a non-empty cookie name, got ${JSON.stringify(key)}; use a name such as "session"`,
    );
  }

  if (!COOKIE_NAME.test(key)) {
    throw new ImproperlyConfiguredException(
      `key ${JSON.stringify(key)} is not a valid cookie name: use letters, digits and ` +
        "!#$%&'*+-.^_`|~ only (an RFC 7230 token), with no spaces, quotes or separators",
    );
  }

  return key;
}

function validateMaxAge(maxAge: number): number {
  if (!Number.isInteger(maxAge) || maxAge < 1 || maxAge > MAX_COOKIE_MAX_AGE) {
    throw new ImproperlyConfiguredException(
      `maxAge must be a whole number of seconds from 1 to ${MAX_COOKIE_MAX_AGE} (100 years; ` +
        `browsers keep a cookie for at most 400 days), got ${describeValue(maxAge)}; for ` +
        "example 1209600 for 14 days",
    );
  }

  return maxAge;
}

function validateScopes(scopes: Iterable<string>): ReadonlySet<"http" | "websocket"> {
  // A string is iterable, so "http" would be read as the scopes "h", "t", "t", "p".
  if (typeof scopes === "string" || !isIterable(scopes)) {
    throw new ImproperlyConfiguredException(
      `scopes must be a list such as ["http", "websocket"], got ${describeValue(scopes)}`,
    );
  }

  const set = new Set<"http" | "websocket">();

  for (const scope of scopes) {
    if (scope !== "http" && scope !== "websocket") {
      throw new ImproperlyConfiguredException(
        `scopes contains ${JSON.stringify(scope)}; a session middleware handles "http" and ` +
          `"websocket" scopes only`,
      );
    }
    set.add(scope);
  }

  if (set.size === 0) {
    throw new ImproperlyConfiguredException(
      'scopes is empty, so the middleware would never run; use ["http", "websocket"] ' +
        "(the default), or leave the middleware out",
    );
  }

  return set;
}

function validatePath(path: string): string {
  if (typeof path === "string" && !path.startsWith("/")) {
    throw new ImproperlyConfiguredException(
      `path ${JSON.stringify(path)} must start with "/", as in "/" or "/app"`,
    );
  }

  if (!isValidCookiePath(path)) {
    throw new ImproperlyConfiguredException(
      `path ${describeValue(path)} is not a valid cookie path: it must be printable ASCII ` +
        'without ";", so percent-encode other characters, as in "/caf%C3%A9"',
    );
  }

  return path;
}

function validateDomain(domain: string): string {
  if (!isValidCookieDomain(domain)) {
    throw new ImproperlyConfiguredException(
      `domain ${describeValue(domain)} is not a valid cookie domain: give an ASCII host name ` +
        'of letters, digits, hyphens and dots, such as "example.com" (punycode for ' +
        "international names), or leave it unset for a host-only cookie",
    );
  }

  return domain;
}

function validateExclude(exclude: unknown): string | readonly string[] | null {
  if (exclude === null || typeof exclude === "string") return exclude;

  if (!Array.isArray(exclude)) {
    throw new ImproperlyConfiguredException(
      `exclude must be a string or a list of strings (regular expressions), got ` +
        describeValue(exclude),
    );
  }

  exclude.forEach((pattern: unknown, index) => {
    if (typeof pattern !== "string") {
      throw new ImproperlyConfiguredException(
        `exclude[${index}] must be a string (a regular expression), got ${describeValue(pattern)}`,
      );
    }
  });

  return Object.freeze([...(exclude as string[])]);
}

function validateExcludeOptKey(key: unknown): string {
  if (typeof key !== "string" || key === "") {
    throw new ImproperlyConfiguredException(
      `excludeOptKey must be a non-empty string, got ${describeValue(key)}; the default is ` +
        '"skip_session"',
    );
  }

  return key;
}

function validateSerializer(serializer: SessionSerializer): SessionSerializer {
  if (
    serializer === null ||
    typeof serializer !== "object" ||
    typeof serializer.serialize !== "function" ||
    typeof serializer.deserialize !== "function"
  ) {
    throw new ImproperlyConfiguredException(
      `serializer must have serialize and deserialize functions, got ` +
        `${describeValue(serializer)}; use jsonSerializer, taggedJsonSerializer or an object ` +
        "{ serialize(data), deserialize(text) }",
    );
  }

  return serializer;
}

function validateSameSite(sameSite: string, secure: boolean): SameSite {
  const normalized = typeof sameSite === "string" ? sameSite.toLowerCase() : sameSite;

  if (normalized !== "lax" && normalized !== "strict" && normalized !== "none") {
    throw new ImproperlyConfiguredException(
      `sameSite must be "lax", "strict" or "none", got ${JSON.stringify(sameSite)}`,
    );
  }

  if (normalized === "none" && !secure) {
    throw new ImproperlyConfiguredException(
      'sameSite "none" requires secure: true, because browsers reject SameSite=None cookies ' +
        'without the Secure attribute; set secure: true or use sameSite "lax"',
    );
  }

  return normalized;
}

/** Cookie name prefixes, draft-ietf-httpbis-rfc6265bis section 4.1.3. */
function validatePrefixRules(
  key: string,
  secure: boolean,
  path: string,
  domain: string | null,
): void {
  const lower = key.toLowerCase();

  if ((lower.startsWith("__secure-") || lower.startsWith("__host-")) && !secure) {
    throw new ImproperlyConfiguredException(
      `key ${JSON.stringify(key)} has a __Secure- or __Host- prefix, which browsers accept only ` +
        "with the Secure attribute; set secure: true",
    );
  }

  if (lower.startsWith("__host-") && (path !== "/" || domain !== null)) {
    throw new ImproperlyConfiguredException(
      `key ${JSON.stringify(key)} has the __Host- prefix, which browsers accept only with ` +
        `path "/" and no domain; got path ${JSON.stringify(path)} and domain ` +
        `${JSON.stringify(domain)}`,
    );
  }
}

function isIterable(value: unknown): value is Iterable<unknown> {
  return (
    value !== null &&
    typeof value === "object" &&
    typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === "function"
  );
}
