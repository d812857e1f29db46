/**
 * The key/value store contract, ported from Litestar's `litestar.stores.base`. Session backends
 * and other components read and write bytes through it without knowing where they live.
 *
 * Units: every expiry is a number of seconds. Fractions are allowed and rounded up to whole
 * milliseconds. `undefined` or `null` means "no expiry". A value that is not a positive, finite
 * number of at most `MAX_EXPIRY_SECONDS` is rejected with a `RangeError` (or a `TypeError` when it
 * is not a number at all), before the backend is touched.
 *
 * Failures of the backend itself (Redis unreachable, a full disk, a denied permission) reject with
 * a `StoreError` that names the store and the operation.
 */
export interface Store {
  /**
   * Stores `value` under `key`, replacing any previous value and its expiry. A string is stored
   * as its UTF-8 bytes. Bytes are copied, so the caller may reuse its buffer afterwards.
   */
  set(key: string, value: string | Uint8Array, expiresIn?: number | null): Promise<void>;

  /**
   * Returns the bytes stored under `key`, or `null` when the key is missing or expired. When
   * `renewFor` is given and the entry has an expiry, the expiry is reset to `renewFor` seconds
   * from now as part of the same read. An entry stored without expiry stays without one.
   */
  get(key: string, renewFor?: number | null): Promise<Uint8Array | null>;

  /** Deletes `key`. Deleting a missing key does nothing. */
  delete(key: string): Promise<void>;

  /** Deletes every entry of this store, including those of its child namespaces. */
  deleteAll(): Promise<void>;

  /** Returns whether a value that has not expired is stored under `key`. */
  exists(key: string): Promise<boolean>;

  /**
   * Returns the whole seconds left before `key` expires, rounded up, or `null` when the key is
   * missing, expired or stored without expiry.
   */
  expiresIn(key: string): Promise<number | null>;

  /** Releases the timers and connections the store keeps open. Calling it again does nothing. */
  close?(): Promise<void>;
}

/**
 * A store that can hand out child stores in nested namespaces. Single-key operations of a parent
 * and its children never see each other's entries. `deleteAll()` on a parent also clears every
 * child namespace, but `deleteAll()` on a child leaves the parent alone.
 */
export interface NamespacedStore extends Store {
  /**
   * Returns a store for the child namespace `namespace` of this store. Two calls with the same
   * name return stores that share their entries.
   */
  withNamespace(namespace: string): NamespacedStore;
}

/** Returns whether `store` supports `withNamespace()`. */
export function isNamespacedStore(store: Store): store is NamespacedStore {
  return typeof (store as Partial<NamespacedStore>).withNamespace === "function";
}
