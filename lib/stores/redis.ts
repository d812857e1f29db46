import { Redis, type RedisOptions } from "ioredis";

import { ImproperlyConfiguredException } from "../exceptions";
import { defaultLogger, type Logger } from "../logger";
import type { NamespacedStore } from "./base";
import { toBytes, toExpiryMilliseconds, toStoreError } from "./values";

export interface RedisStoreOptions {
  /**
   * Prefix of every key, written as `<namespace>:<key>` as in Litestar. `null` stores keys as
   * they are and makes `deleteAll()` unavailable. Default: `"LITESTAR"`, Litestar's default.
   */
  namespace?: string | null;

  /** Quit the client in `close()`. Default: `false`, because the caller owns the client. */
  handleClientShutdown?: boolean;
}

export interface RedisStoreClientOptions {
  /** As in `RedisStoreOptions`. Default: `"LITESTAR"`. */
  namespace?: string | null;

  /** Receives the client's connection errors, one entry per outage. Default: `defaultLogger()`. */
  logger?: Logger;

  /** `redis://` or `rediss://` URL. Default: `"redis://localhost:6379"`, as in Litestar. */
  url?: string;

  /**
   * ioredis options, applied over the fail-fast defaults of `withClient()`. Host, port, database
   * and credentials given in `url` take precedence over the same options here (ioredis' rule).
   */
  redisOptions?: RedisOptions;
}

export interface RedisSetOptions {
  /** Keep the key's current expiry instead of clearing it (`SET ... KEEPTTL`, Redis 6.0+). */
  keepTtl?: boolean;
}

const STORE_NAME = "RedisStore";
const DEFAULT_NAMESPACE = "LITESTAR";
const DEFAULT_URL = "redis://localhost:6379";

/** Keys that one `SCAN` call examines; Redis' default of 10 makes `deleteAll()` chatty. */
const SCAN_COUNT = 1000;

/**
 * Client options that make a command fail within about two seconds when Redis is unreachable,
 * instead of waiting in ioredis' offline queue for a reconnection that may never come:
 * - `maxRetriesPerRequest: 0` rejects queued commands each time a connection attempt fails;
 * - reconnection is retried every 100 ms to 1 s, so a command issued while disconnected waits for
 *   at most one attempt;
 * - `connectTimeout` ends an attempt against a host that does not respond;
 * - `commandTimeout` bounds every command, including one sent to a server that stopped replying.
 *   A timed-out command may still run on the server later.
 * Connecting waits for the first command (`lazyConnect`), so Redis need not be up yet when the
 * store is created.
 */
const FAIL_FAST_CLIENT_OPTIONS: RedisOptions = {
  lazyConnect: true,
  connectTimeout: 2000,
  commandTimeout: 2000,
  maxRetriesPerRequest: 0,
  retryStrategy: (attempt: number) => Math.min(attempt * 100, 1000),
};

/**
 * Atomically reads a key and, when it has an expiry, resets the expiry to ARGV[1] milliseconds.
 * PTTL is used where Litestar's script uses TTL, because TTL rounds to whole seconds and reports
 * 0 for a key with less than half a second left, which would skip the renewal.
 */
const GET_AND_RENEW_SCRIPT = `
local value = redis.call("GET", KEYS[1])
if value and redis.call("PTTL", KEYS[1]) > 0 then
  redis.call("PEXPIRE", KEYS[1], ARGV[1])
end
return value
`;

/** Name under which the script is defined on the client with ioredis' `defineCommand()`. */
const GET_AND_RENEW_COMMAND = "uwsAsgiSessionsGetAndRenew";

interface GetAndRenewClient {
  uwsAsgiSessionsGetAndRenewBuffer(key: string, milliseconds: number): Promise<Buffer | null>;
}

/**
 * Store on Redis through an ioredis client, ported from Litestar's `RedisStore` with the same key
 * layout and stored bytes, so a Litestar app and this library can share entries:
 * - a key is stored as `<namespace>:<key>`, with `"LITESTAR"` as the default namespace;
 * - `withNamespace("child")` on namespace `N` uses the namespace `N_child`;
 * - the value is stored as raw bytes (strings as UTF-8), and Redis expires it itself.
 *
 * Every command that fails rejects with a `StoreError`. Redis Cluster is not supported, because
 * `deleteAll()` scans a single server.
 */
export class RedisStore implements NamespacedStore {
  readonly namespace: string | null;
  readonly handleClientShutdown: boolean;

  private readonly client: Redis;
  private readonly keyPrefix: Buffer | null;
  private readonly childKeyPrefix: Buffer | null;

  constructor(client: Redis, options: RedisStoreOptions = {}) {
    this.client = validateClient(client);
    this.namespace =
      options.namespace === null
        ? null
        : validateNamespace(options.namespace ?? DEFAULT_NAMESPACE, "namespace");
    this.handleClientShutdown = validateBoolean(
      options.handleClientShutdown,
      "handleClientShutdown",
    );
    this.keyPrefix = this.namespace === null ? null : Buffer.from(`${this.namespace}:`, "utf8");
    this.childKeyPrefix =
      this.namespace === null ? null : Buffer.from(`${this.namespace}_`, "utf8");

    defineGetAndRenew(this.client);
  }

  /**
   * Creates a store with its own ioredis client, configured to fail fast when Redis is down (see
   * `FAIL_FAST_CLIENT_OPTIONS`). The store quits the client in `close()`.
   */
  static withClient(options: string | RedisStoreClientOptions = {}): RedisStore {
    const settings = typeof options === "string" ? { url: options } : options;
    const url = validateUrl(settings.url ?? DEFAULT_URL);
    const logger = settings.logger ?? defaultLogger();

    const client = new Redis(url, { ...FAIL_FAST_CLIENT_OPTIONS, ...settings.redisOptions });
    reportConnectionErrors(client, logger);

    try {
      return new RedisStore(client, { namespace: settings.namespace, handleClientShutdown: true });
    } catch (error) {
      client.disconnect();
      throw error;
    }
  }

  /**
   * Returns a store on the same client whose namespace is `<namespace>_<child>`, or `<child>` when
   * this store has no namespace. It inherits `handleClientShutdown`, as in Litestar.
   */
  withNamespace(namespace: string): RedisStore {
    const child = validateNamespace(namespace, "namespace");

    return new RedisStore(this.client, {
      namespace: this.namespace === null ? child : `${this.namespace}_${child}`,
      handleClientShutdown: this.handleClientShutdown,
    });
  }

  async set(
    key: string,
    value: string | Uint8Array,
    expiresIn?: number | null,
    options: RedisSetOptions = {},
  ): Promise<void> {
    const data = toBytes(value);
    const lifetime = toExpiryMilliseconds(expiresIn, "expiresIn");
    if (options.keepTtl === true && lifetime !== null) {
      throw new TypeError("expiresIn and keepTtl are mutually exclusive; pass only one of them");
    }

    try {
      const redisKey = this.makeKey(key);
      if (lifetime !== null) {
        await this.client.set(redisKey, data, "PX", lifetime);
      } else if (options.keepTtl === true) {
        await this.client.set(redisKey, data, "KEEPTTL");
      } else {
        await this.client.set(redisKey, data);
      }
    } catch (error) {
      throw toStoreError(STORE_NAME, "set", error);
    }
  }

  /** Reads the key. With `renewFor`, reading and renewing run as one Lua script. */
  async get(key: string, renewFor?: number | null): Promise<Uint8Array | null> {
    const lifetime = toExpiryMilliseconds(renewFor, "renewFor");

    try {
      const redisKey = this.makeKey(key);
      if (lifetime === null) return await this.client.getBuffer(redisKey);

      const client = this.client as unknown as GetAndRenewClient;
      return await client.uwsAsgiSessionsGetAndRenewBuffer(redisKey, lifetime);
    } catch (error) {
      throw toStoreError(STORE_NAME, "get", error);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.unlink(this.makeKey(key));
    } catch (error) {
      throw toStoreError(STORE_NAME, "delete", error);
    }
  }

  /**
   * Deletes the keys of this namespace and of its child namespaces with `SCAN ... MATCH` and
   * `UNLINK`, a page at a time, so no single command scans the whole keyspace. Keys of other
   * namespaces and keys without a namespace stay. Keys written while it runs may survive.
   *
   * Litestar runs the same scan inside one Lua script with the pattern `<namespace>*:*`, which
   * also matches sibling namespaces such as `<namespace>X`. This version only deletes keys that
   * start with `<namespace>:` or with `<namespace>_` followed by a `:` later in the key.
   *
   * @throws ImproperlyConfiguredException when the store has no namespace.
   */
  async deleteAll(): Promise<void> {
    if (this.namespace === null) {
      throw new ImproperlyConfiguredException(
        "RedisStore.deleteAll() requires a namespace, but namespace is null; " +
          "create the store with a namespace to delete all of its keys",
      );
    }

    try {
      await this.unlinkMatching(`${escapeGlob(this.namespace)}*`);
    } catch (error) {
      throw toStoreError(STORE_NAME, "deleteAll", error);
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await this.client.exists(this.makeKey(key))) === 1;
    } catch (error) {
      throw toStoreError(STORE_NAME, "exists", error);
    }
  }

  async expiresIn(key: string): Promise<number | null> {
    try {
      // PTTL returns -2 for a missing key and -1 for a key without expiry.
      const milliseconds = await this.client.pttl(this.makeKey(key));
      if (milliseconds < 0) return null;

      return Math.ceil(milliseconds / 1000);
    } catch (error) {
      throw toStoreError(STORE_NAME, "expiresIn", error);
    }
  }

  /**
   * Quits the client when `handleClientShutdown` is set. A client that is not connected is
   * disconnected at once, which also stops its reconnection attempts.
   */
  async close(): Promise<void> {
    if (!this.handleClientShutdown || this.client.status === "end") return;

    if (this.client.status !== "ready") {
      this.client.disconnect();
      return;
    }

    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }

  private makeKey(key: string): string {
    return this.namespace === null ? key : `${this.namespace}:${key}`;
  }

  private async unlinkMatching(pattern: string): Promise<void> {
    let cursor = "0";

    do {
      const [nextCursor, keys] = await this.client.scanBuffer(
        cursor,
        "MATCH",
        pattern,
        "COUNT",
        SCAN_COUNT,
      );
      const ownKeys = keys.filter((key) => this.ownsKey(key));
      if (ownKeys.length > 0) await this.client.unlink(...ownKeys);

      cursor = nextCursor.toString("latin1");
    } while (cursor !== "0");
  }

  /** Returns whether `key` belongs to this namespace or to one of its child namespaces. */
  private ownsKey(key: Buffer): boolean {
    if (this.keyPrefix === null || this.childKeyPrefix === null) return false;

    if (startsWith(key, this.keyPrefix)) return true;

    const colon = 0x3a;
    return startsWith(key, this.childKeyPrefix) && key.includes(colon, this.childKeyPrefix.length);
  }
}

function defineGetAndRenew(client: Redis): void {
  const defined = typeof (client as unknown as Record<string, unknown>)[GET_AND_RENEW_COMMAND];
  if (defined === "function") return;

  client.defineCommand(GET_AND_RENEW_COMMAND, { numberOfKeys: 1, lua: GET_AND_RENEW_SCRIPT });
}

/**
 * Logs the first connection error of an outage and the recovery, instead of every failed
 * reconnection attempt. The listener also keeps ioredis from printing unhandled error events.
 */
function reportConnectionErrors(client: Redis, logger: Logger): void {
  let failedAttempts = 0;

  client.on("error", (error: Error) => {
    failedAttempts += 1;
    if (failedAttempts > 1) return;

    logger.error(
      { store: STORE_NAME, err: error },
      "Redis connection failed; store operations fail with StoreError until it reconnects",
    );
  });

  client.on("ready", () => {
    if (failedAttempts === 0) return;

    logger.info({ store: STORE_NAME, failedAttempts }, "Redis connection restored");
    failedAttempts = 0;
  });
}

/** Escapes the characters that Redis glob patterns treat specially. */
function escapeGlob(text: string): string {
  return text.replace(/[\\*?[\]]/g, (character) => `\\${character}`);
}

function startsWith(bytes: Buffer, prefix: Buffer): boolean {
  return (
    bytes.length >= prefix.length && bytes.compare(prefix, 0, prefix.length, 0, prefix.length) === 0
  );
}

function validateClient(client: Redis): Redis {
  // Checked by shape, because a second copy of ioredis in node_modules defeats instanceof.
  const candidate = client as Partial<Redis> | null;
  const usable =
    typeof candidate?.defineCommand === "function" && typeof candidate.scanBuffer === "function";
  if (!usable) {
    throw new ImproperlyConfiguredException(
      "client must be an ioredis Redis instance; use RedisStore.withClient(url) to create one",
    );
  }

  if (client.isCluster) {
    throw new ImproperlyConfiguredException(
      "client must be a single-server ioredis Redis instance, got a Cluster; RedisStore does not " +
        "support Redis Cluster because deleteAll() scans one server",
    );
  }

  // ioredis adds keyPrefix to command keys but not to SCAN patterns, so deleteAll() would miss the store's keys.
  const keyPrefix = client.options?.keyPrefix ?? "";
  if (keyPrefix !== "") {
    throw new ImproperlyConfiguredException(
      `the ioredis client must not have a keyPrefix, got ${JSON.stringify(keyPrefix)}; ` +
        "use the store's namespace option instead",
    );
  }

  return client;
}

function validateNamespace(namespace: string, optionName: string): string {
  // A colon would make the end of the namespace ambiguous in `<namespace>:<key>`.
  if (typeof namespace !== "string" || namespace === "" || namespace.includes(":")) {
    throw new ImproperlyConfiguredException(
      `${optionName} must be a non-empty string without ":", got ${JSON.stringify(namespace)}`,
    );
  }

  return namespace;
}

function validateBoolean(value: boolean | undefined, optionName: string): boolean {
  const resolved = value ?? false;
  if (typeof resolved === "boolean") return resolved;

  throw new ImproperlyConfiguredException(
    `${optionName} must be a boolean, got ${JSON.stringify(value)}`,
  );
}

function validateUrl(url: string): string {
  if (typeof url === "string" && URL.canParse(url)) {
    const { protocol } = new URL(url);
    if (protocol === "redis:" || protocol === "rediss:") return url;
  }

  // The URL itself is not echoed, because it may contain a password.
  throw new ImproperlyConfiguredException(
    "url must be a redis:// or rediss:// URL such as redis://localhost:6379",
  );
}
