import { ImproperlyConfiguredException } from "../exceptions";
import type { NamespacedStore } from "./base";
import { secondsUntil, toBytes, toExpiryMilliseconds, validateClock } from "./values";

export interface MemoryStoreOptions {
  /**
   * Seconds between two sweeps that delete expired entries, so that entries that are never read
   * again do not pile up. `null` turns sweeping off. Default: 60.
   */
  sweepInterval?: number | null;

  /** Clock in milliseconds since the epoch, used for every expiry decision. Default: `Date.now`. */
  now?: () => number;
}

interface MemoryEntry {
  data: Buffer;

  /** Milliseconds since the epoch, or `null` for no expiry. */
  expiresAt: number | null;
}

/** The entries of one namespace and its child namespaces, shared by every view of it. */
interface MemoryNamespace {
  entries: Map<string, MemoryEntry>;
  children: Map<string, MemoryNamespace>;
}

/** Sweep timer shared by a root store and all its child namespaces. */
interface MemorySweeper {
  timer: NodeJS.Timeout | null;
}

const DEFAULT_SWEEP_INTERVAL_SECONDS = 60;

/**
 * In-process store, ported from Litestar's `MemoryStore`. Every operation runs synchronously
 * inside its promise, so each one is atomic with respect to the others. Data lives only as long
 * as the process and is not shared between worker processes.
 *
 * Expiry is checked on every read. A periodic sweep, whose timer never keeps the process alive,
 * also deletes expired entries that are never read. Unlike Litestar's, `withNamespace()` is
 * supported: each namespace has its own map.
 */
export class MemoryStore implements NamespacedStore {
  private readonly now: () => number;

  // Not readonly: withNamespace() points a new view at a child namespace and the shared sweeper.
  private namespace: MemoryNamespace = { entries: new Map(), children: new Map() };
  private sweeper: MemorySweeper = { timer: null };

  constructor(options: MemoryStoreOptions = {}) {
    const sweepInterval = validateSweepInterval(options.sweepInterval);
    this.now = validateClock(options.now);

    if (sweepInterval !== null) {
      this.sweeper.timer = startSweepTimer(this.namespace, sweepInterval, this.now);
    }
  }

  async set(key: string, value: string | Uint8Array, expiresIn?: number | null): Promise<void> {
    const data = toBytes(value);
    const lifetime = toExpiryMilliseconds(expiresIn, "expiresIn");

    this.namespace.entries.set(key, { data, expiresAt: this.expiryFrom(lifetime) });
  }

  async get(key: string, renewFor?: number | null): Promise<Uint8Array | null> {
    const lifetime = toExpiryMilliseconds(renewFor, "renewFor");
    const entry = this.liveEntry(key);
    if (entry === null) return null;

    if (lifetime !== null && entry.expiresAt !== null) {
      entry.expiresAt = this.expiryFrom(lifetime);
    }

    return Buffer.from(entry.data);
  }

  async delete(key: string): Promise<void> {
    this.namespace.entries.delete(key);
  }

  async deleteAll(): Promise<void> {
    clearNamespace(this.namespace);
  }

  async exists(key: string): Promise<boolean> {
    return this.liveEntry(key) !== null;
  }

  async expiresIn(key: string): Promise<number | null> {
    const entry = this.liveEntry(key);
    if (entry === null || entry.expiresAt === null) return null;

    return secondsUntil(entry.expiresAt, this.now());
  }

  /**
   * Deletes the expired entries of this namespace and its children. The periodic sweep calls it
   * on the root store. Call it yourself when sweeping is turned off.
   */
  async deleteExpired(): Promise<void> {
    this.sweep();
  }

  /**
   * Returns the store of the child namespace `namespace`, created on first use. The child shares
   * the sweep timer and the clock of this store.
   */
  withNamespace(namespace: string): MemoryStore {
    if (typeof namespace !== "string" || namespace === "") {
      throw new ImproperlyConfiguredException(
        `namespace must be a non-empty string, got ${JSON.stringify(namespace)}`,
      );
    }

    let child = this.namespace.children.get(namespace);
    if (child === undefined) {
      child = { entries: new Map(), children: new Map() };
      this.namespace.children.set(namespace, child);
    }

    const store = new MemoryStore({ sweepInterval: null, now: this.now });
    store.namespace = child;
    store.sweeper = this.sweeper;
    return store;
  }

  /** Stops the sweep timer shared with the parent and child namespaces. The data stays readable. */
  async close(): Promise<void> {
    if (this.sweeper.timer === null) return;

    clearInterval(this.sweeper.timer);
    this.sweeper.timer = null;
  }

  private liveEntry(key: string): MemoryEntry | null {
    const entry = this.namespace.entries.get(key);
    if (entry === undefined) return null;

    if (entry.expiresAt !== null && this.now() >= entry.expiresAt) {
      this.namespace.entries.delete(key);
      return null;
    }

    return entry;
  }

  private expiryFrom(lifetime: number | null): number | null {
    return lifetime === null ? null : this.now() + lifetime;
  }

  private sweep(): void {
    deleteExpiredEntries(this.namespace, this.now());
  }
}

/**
 * Starts an unreferenced timer that sweeps `namespace`. The timer references the namespace only
 * weakly, so a store that is dropped without `close()` can still be garbage-collected. The
 * timer then stops itself.
 */
function startSweepTimer(
  namespace: MemoryNamespace,
  intervalSeconds: number,
  now: () => number,
): NodeJS.Timeout {
  const reference = new WeakRef(namespace);

  const timer = setInterval(() => {
    const target = reference.deref();
    if (target === undefined) {
      clearInterval(timer);
      return;
    }

    deleteExpiredEntries(target, now());
  }, intervalSeconds * 1000);

  timer.unref();
  return timer;
}

function deleteExpiredEntries(namespace: MemoryNamespace, now: number): void {
  for (const [key, entry] of namespace.entries) {
    if (entry.expiresAt !== null && now >= entry.expiresAt) namespace.entries.delete(key);
  }

  for (const child of namespace.children.values()) deleteExpiredEntries(child, now);
}

function clearNamespace(namespace: MemoryNamespace): void {
  namespace.entries.clear();

  for (const child of namespace.children.values()) clearNamespace(child);
}

function validateSweepInterval(sweepInterval: number | null | undefined): number | null {
  if (sweepInterval === null) return null;

  const seconds = sweepInterval ?? DEFAULT_SWEEP_INTERVAL_SECONDS;
  // setInterval() treats delays above 2^31 - 1 ms as 1 ms, so larger intervals are rejected.
  const valid = typeof seconds === "number" && seconds > 0 && seconds * 1000 <= 2 ** 31 - 1;
  if (valid) return seconds;

  throw new ImproperlyConfiguredException(
    `sweepInterval must be a positive number of seconds no greater than 2147483, got ` +
      `${String(sweepInterval)}; pass null to turn sweeping off`,
  );
}
