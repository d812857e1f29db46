import { randomBytes } from "node:crypto";

import { serialize as serializeSetCookie } from "cookie";

import type { ASGIConnection, SessionData } from "../../connection/base";
import { getConnectionState, type ConnectionState } from "../../connection/state";
import { ImproperlyConfiguredException, StoreError } from "../../exceptions";
import type { Store } from "../../stores/base";
import { validateBoolean } from "../../validation";
import {
  BaseBackendConfig,
  BaseSessionBackend,
  isEmptySession,
  type BaseBackendOptions,
  type SessionCarrierMessage,
} from "./base";

/**
 * 16 bytes give 128 bits of entropy. A session id is a bearer credential, so an attacker who
 * guesses any live id owns that session. At 128 bits, even a billion live sessions and a
 * billion guesses a second leave the expected time to a hit far beyond any session's lifetime.
 */
const MIN_SESSION_ID_BYTES = 16;

/** Longer ids add no security and cost cookie and store space on every request. */
const MAX_SESSION_ID_BYTES = 256;

/**
 * Ids that this backend and Litestar issue: lower-case hex of at least 16 bytes. Anything else
 * in the cookie is ignored before it reaches the store, so a cookie value can never become an
 * arbitrary store key (such as a file name with "/" in a `FileStore`).
 */
const SESSION_ID_PATTERN = new RegExp(
  `^(?:[0-9a-f]{2}){${MIN_SESSION_ID_BYTES},${MAX_SESSION_ID_BYTES}}$`,
);

/** The value Litestar sends in a clearing cookie; kept for wire compatibility. */
const CLEARED_COOKIE_VALUE = "null";

const EPOCH = new Date(0);

export interface ServerSideSessionOptions extends BaseBackendOptions {
  /**
   * Random bytes in each session id; the id is their lower-case hex, as Litestar's
   * `secrets.token_hex`. From 16 to 256. Default 32.
   */
  sessionIdBytes?: number;
  /**
   * Slide the stored session's expiry to `maxAge` seconds from now on every read, and send the
   * cookie again so the browser's copy slides too. Default false.
   */
  renewOnAccess?: boolean;
  /**
   * The store holding session data: a name looked up in the app's store registry
   * (`scope.app.stores.get(name)`), or a `Store` instance, which also works for a raw ASGI app
   * without `App`. Default `"sessions"`.
   */
  store?: string | Store;
}

/** An app object that carries a store registry, as `App` does. */
interface AppWithStores {
  stores: { get(name: string): Store };
}

/**
 * Per-connection state of this backend, keyed by the connection state object, which shallow
 * copies of the scope share.
 */
interface ServerSideConnectionState {
  /** The id whose data was found in the store when the connection was loaded. */
  loadedId: string | null;
  /** True once a store operation failed, so error responses do not touch the store again. */
  storeFailed: boolean;
}

/**
 * Litestar's `ServerSideSessionConfig`: session data lives in a store, and the cookie carries
 * only a random session id.
 */
export class ServerSideSessionConfig extends BaseBackendConfig<ServerSideSessionBackend> {
  readonly sessionIdBytes: number;
  readonly renewOnAccess: boolean;
  readonly store: string | Store;

  constructor(options: ServerSideSessionOptions = {}) {
    super(options);
    this.sessionIdBytes = validateSessionIdBytes(options.sessionIdBytes ?? 32);
    this.renewOnAccess = validateBoolean("renewOnAccess", options.renewOnAccess ?? false);
    this.store = validateStore(options.store ?? "sessions");

    // The backend is built before freezing, because the base class caches it on first use.
    void this.backend;
    Object.freeze(this);
  }

  protected override createBackend(): ServerSideSessionBackend {
    return new ServerSideSessionBackend(this);
  }

  /**
   * Returns the configured store: the instance itself, or the store registered under its name
   * in `app.stores`, as Litestar's `get_store_from_app`.
   *
   * @throws ImproperlyConfiguredException when the store is a name and `app` has no registry.
   */
  getStoreFromApp(app: unknown): Store {
    if (typeof this.store !== "string") return this.store;

    if (!hasStoreRegistry(app)) {
      throw new ImproperlyConfiguredException(
        `store ${JSON.stringify(this.store)} of ServerSideSessionConfig is a registry name, but ` +
          "the scope has no app with a store registry; run the middleware inside App or pass a " +
          "Store instance, such as new MemoryStore()",
      );
    }

    return app.stores.get(this.store);
  }
}

/**
 * Litestar's `ServerSideSessionBackend`, with these differences:
 * - a request that neither brings nor makes a session writes nothing and sets no cookie;
 * - an id the store does not know (never issued, expired, deleted) is never adopted, so new
 *   data always goes under a fresh random id;
 * - an unchanged session is not written again;
 * - `regenerateSession()` moves the data to a fresh id and deletes the old entry;
 * - store failures become a `StoreError` naming the store and operation, which the app or
 *   server logs.
 */
export class ServerSideSessionBackend extends BaseSessionBackend<ServerSideSessionConfig> {
  private readonly connections = new WeakMap<ConnectionState, ServerSideConnectionState>();

  /** Returns the stored data of `sessionId`, sliding its expiry when `renewOnAccess` is set. */
  async get(sessionId: string, store: Store): Promise<Uint8Array | null> {
    const renewFor = this.config.renewOnAccess ? this.config.maxAge : null;
    return this.callStore(store, "get", () => store.get(sessionId, renewFor));
  }

  /** Stores `data` under `sessionId`, replacing what was there, expiring in `maxAge` seconds. */
  async set(sessionId: string, data: Uint8Array, store: Store): Promise<void> {
    await this.callStore(store, "set", () => store.set(sessionId, data, this.config.maxAge));
  }

  /** Returns true when the store still contains data for `sessionId`. */
  async exists(sessionId: string, store: Store): Promise<boolean> {
    return this.callStore(store, "exists", () => store.exists(sessionId));
  }

  /** Deletes the data of `sessionId`; a missing id is not an error. */
  async delete(sessionId: string, store: Store): Promise<void> {
    await this.callStore(store, "delete", () => store.delete(sessionId));
  }

  /**
   * Returns the id of the session found in the store for this connection, or null when the
   * request brought none. A fresh id is generated only when a session is first written.
   */
  getSessionId(connection: ASGIConnection): string | null {
    return this.connectionState(connection).loadedId;
  }

  /** Generates a session id: `sessionIdBytes` random bytes as lower-case hex. */
  generateSessionId(): string {
    return randomBytes(this.config.sessionIdBytes).toString("hex");
  }

  async loadFromConnection(connection: ASGIConnection): Promise<SessionData> {
    const sessionId = this.readSessionCookie(connection);
    if (sessionId === null) return {};

    const store = this.resolveStore(connection);
    let data: Uint8Array | null;
    try {
      data = await this.get(sessionId, store);
    } catch (error) {
      // The error response must not clear the cookie: the session may be intact in the store.
      this.connectionState(connection).storeFailed = true;
      throw error;
    }
    if (data === null) return {};

    let session: SessionData;
    try {
      session = this.deserializeData(data);
    } catch (error) {
      this.config.logger.warn(
        { error, store: describeStore(this.config.store, store) },
        "stored session data is not a valid session, starting an empty session under a new id",
      );
      return {};
    }

    this.connectionState(connection).loadedId = sessionId;

    // The stored bytes are the loaded snapshot, so the middleware need not serialize the
    // session again. Data stored in another JSON form (by Litestar, say) then counts as changed
    // once and is rewritten in ours.
    getConnectionState(connection.scope).loadedSession = isEmptySession(session)
      ? null
      : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return session;
  }

  async storeInMessage(
    session: SessionData | null,
    message: SessionCarrierMessage,
    connection: ASGIConnection,
  ): Promise<void> {
    const state = this.connectionState(connection);
    if (state.storeFailed) return;

    try {
      if (isEmptySession(session)) {
        await this.clearSession(message, connection);
      } else {
        await this.saveSession(session!, message, connection);
      }
    } catch (error) {
      state.storeFailed = true;
      throw error;
    }
  }

  private async saveSession(
    session: SessionData,
    message: SessionCarrierMessage,
    connection: ASGIConnection,
  ): Promise<void> {
    const state = this.connectionState(connection);
    const shared = getConnectionState(connection.scope);
    const loadedId = state.loadedId;

    // clearSession() resets the shared id, so data set after clearing gets a fresh id too.
    const keepId = loadedId !== null && !shared.regenerateSession && shared.sessionId === loadedId;

    const serialized = this.serializeData(session, connection.scope);
    if (keepId && !this.sessionChanged(session, connection, serialized)) {
      if (this.config.renewOnAccess) appendSetCookie(message, this.sessionCookie(loadedId));
      return;
    }

    const store = this.resolveStore(connection);
    if (keepId && !(await this.exists(loadedId, store))) {
      this.dropDeletedSession(connection);
      return;
    }

    const sessionId = keepId ? loadedId : this.generateSessionId();
    await this.set(sessionId, serialized, store);
    // The old entry goes only after the new one is written, so a failure loses no data.
    if (loadedId !== null && loadedId !== sessionId) await this.delete(loadedId, store);

    state.loadedId = sessionId;
    shared.sessionId = sessionId;
    shared.regenerateSession = false;
    appendSetCookie(message, this.sessionCookie(sessionId));
  }

  /**
   * Forgets a session that a concurrent request deleted (a log-out, or a regeneration that
   * moved the data to a new id) after this request loaded it. Writing it back would bring the
   * deleted session back to life, so this request's changes are dropped. No Set-Cookie is
   * sent: the other request already sent its own cookie, which a clearing cookie arriving
   * later would delete.
   *
   * NOTE: `exists` and `set` are two store calls, so a deletion that lands between them is
   * still overwritten. Closing that window needs a conditional write in the store.
   */
  private dropDeletedSession(connection: ASGIConnection): void {
    const state = this.connectionState(connection);

    // The id is a bearer credential, so it is not logged.
    this.config.logger.debug(
      { key: this.config.key },
      "session was deleted by a concurrent request, dropping this request's changes",
    );
    state.loadedId = null;
    getConnectionState(connection.scope).sessionId = null;
  }

  private async clearSession(
    message: SessionCarrierMessage,
    connection: ASGIConnection,
  ): Promise<void> {
    const state = this.connectionState(connection);
    const loadedId = state.loadedId;

    if (loadedId !== null) {
      await this.delete(loadedId, this.resolveStore(connection));
      state.loadedId = null;
    }

    getConnectionState(connection.scope).sessionId = null;

    // A request that brought no cookie needs no clearing cookie.
    if (this.requestCookie(connection) === undefined) return;
    appendSetCookie(message, this.clearingCookie());
  }

  private readSessionCookie(connection: ASGIConnection): string | null {
    const value = this.requestCookie(connection);
    if (value === undefined || !SESSION_ID_PATTERN.test(value)) return null;

    return value;
  }

  /** Returns the request's session cookie, reading own keys only. */
  private requestCookie(connection: ASGIConnection): string | undefined {
    const cookies = connection.cookies;
    return Object.hasOwn(cookies, this.config.key) ? cookies[this.config.key] : undefined;
  }

  private resolveStore(connection: ASGIConnection): Store {
    return this.config.getStoreFromApp(connection.scope.app);
  }

  private connectionState(connection: ASGIConnection): ServerSideConnectionState {
    const shared = getConnectionState(connection.scope);
    let state = this.connections.get(shared);

    if (state === undefined) {
      state = { loadedId: null, storeFailed: false };
      this.connections.set(shared, state);
    }

    return state;
  }

  /**
   * Runs one store call, turning its failure into a `StoreError` naming the store and the
   * operation. It is not logged here, because the caller that catches it (`App`, or the server
   * for a raw ASGI app) logs it once.
   */
  private async callStore<T>(store: Store, operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (cause) {
      if (cause instanceof StoreError) throw cause;
      throw new StoreError(describeStore(this.config.store, store), operation, cause);
    }
  }

  private sessionCookie(sessionId: string): string {
    return serializeSetCookie(this.config.key, sessionId, {
      ...this.cookieAttributes(),
      maxAge: this.config.maxAge,
    });
  }

  private clearingCookie(): string {
    return serializeSetCookie(this.config.key, CLEARED_COOKIE_VALUE, {
      ...this.cookieAttributes(),
      maxAge: 0,
      expires: EPOCH,
    });
  }

  private cookieAttributes() {
    const config = this.config;

    return {
      path: config.path,
      domain: config.domain ?? undefined,
      secure: config.secure,
      httpOnly: config.httpOnly,
      sameSite: config.sameSite,
    };
  }
}

function appendSetCookie(message: SessionCarrierMessage, value: string): void {
  const headers = message.headers ?? [];
  headers.push(["set-cookie", value]);
  message.headers = headers;
}

function describeStore(configured: string | Store, store: Store): string {
  const className = store.constructor?.name ?? "Store";
  return typeof configured === "string" ? `${className} ${JSON.stringify(configured)}` : className;
}

function hasStoreRegistry(app: unknown): app is AppWithStores {
  if (app === null || typeof app !== "object") return false;

  const stores = (app as { stores?: unknown }).stores;
  return stores !== null && typeof stores === "object" && "get" in stores;
}

function validateSessionIdBytes(value: number): number {
  if (!Number.isInteger(value) || value < MIN_SESSION_ID_BYTES || value > MAX_SESSION_ID_BYTES) {
    throw new ImproperlyConfiguredException(
      `sessionIdBytes must be a whole number from ${MIN_SESSION_ID_BYTES} to ` +
        `${MAX_SESSION_ID_BYTES}, got ${String(value)}; fewer than 16 random bytes make session ` +
        "ids guessable, so keep the default 32",
    );
  }

  return value;
}

const STORE_METHODS = ["get", "set", "delete", "exists"] as const;

function validateStore(store: string | Store): string | Store {
  if (typeof store === "string" && store !== "") return store;

  if (store === null || typeof store !== "object") {
    throw new ImproperlyConfiguredException(
      `store must be a store name registered on the app or a Store instance, got ` +
        `${typeof store === "string" ? '""' : String(store)}; use "sessions" or new MemoryStore()`,
    );
  }

  const missing = STORE_METHODS.filter((method) => typeof store[method] !== "function");
  if (missing.length > 0) {
    throw new ImproperlyConfiguredException(
      `store must be a Store with get, set, delete and exists functions, but it has no ` +
        `${missing.join(", ")}; pass a Store such as new MemoryStore() or a subclass of Store`,
    );
  }

  return store;
}
