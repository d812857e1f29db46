import { ImproperlyConfiguredException } from "../exceptions";
import type { Store } from "./base";
import { MemoryStore } from "./memory";

/** Creates the store for a name that was requested but never registered. */
export type StoreFactory = (name: string) => Store;

export interface StoreRegistryOptions {
  /** Stores to register at once, by name. The registry copies the mapping. */
  stores?: Record<string, Store> | Map<string, Store>;

  /** Creates stores for unregistered names. Default: `defaultStoreFactory`. */
  defaultFactory?: StoreFactory;
}

export interface RegisterStoreOptions {
  /** Replace a store already registered under the same name. Default: `false`. */
  allowOverride?: boolean;
}

/** Litestar's default factory: a new `MemoryStore` for every name, ignoring the name. */
export function defaultStoreFactory(_name: string): Store {
  return new MemoryStore();
}

/**
 * Named stores shared by the parts of an app, ported from Litestar's `StoreRegistry`. `get()`
 * creates a store on first use with the default factory, so a component can ask for
 * `"sessions"` without anyone registering it first.
 */
export class StoreRegistry {
  private readonly stores = new Map<string, Store>();
  private readonly defaultFactory: StoreFactory;

  constructor(options: StoreRegistryOptions = {}) {
    this.defaultFactory = validateFactory(options.defaultFactory ?? defaultStoreFactory);

    const initial =
      options.stores instanceof Map ? options.stores : Object.entries(options.stores ?? {});
    for (const [name, store] of initial) {
      this.stores.set(validateName(name), validateStore(store, `stores[${JSON.stringify(name)}]`));
    }
  }

  /**
   * Registers `store` under `name`.
   *
   * @throws ImproperlyConfiguredException when `name` is taken and `allowOverride` is not set.
   */
  register(name: string, store: Store, options: RegisterStoreOptions = {}): void {
    validateName(name);
    validateStore(store, "store");

    if (options.allowOverride !== true && this.stores.has(name)) {
      throw new ImproperlyConfiguredException(
        `a store named ${JSON.stringify(name)} is already registered; ` +
          "pass { allowOverride: true } to replace it",
      );
    }

    this.stores.set(name, store);
  }

  /** Returns the store registered under `name`, creating and registering it when missing. */
  get(name: string): Store {
    const registered = this.stores.get(name);
    if (registered !== undefined) return registered;

    const created = validateStore(
      this.defaultFactory(name),
      `defaultFactory(${JSON.stringify(name)})`,
    );
    this.stores.set(name, created);
    return created;
  }

  /** Returns whether a store is registered under `name`, without creating one. */
  has(name: string): boolean {
    return this.stores.has(name);
  }
}

function validateName(name: string): string {
  if (typeof name === "string" && name !== "") return name;

  throw new ImproperlyConfiguredException(
    `store names must be non-empty strings, got ${JSON.stringify(name)}`,
  );
}

function validateFactory(factory: StoreFactory): StoreFactory {
  if (typeof factory === "function") return factory;

  throw new ImproperlyConfiguredException(
    "defaultFactory must be a function that takes a name and returns a store, " +
      `got ${typeof factory}`,
  );
}

/** Checks the shape of a store, so a wrong value fails here and not on the first request. */
function validateStore(store: Store, label: string): Store {
  const methods = ["set", "get", "delete", "deleteAll", "exists", "expiresIn"] as const;
  const missing = methods.filter(
    (method) => typeof (store as Partial<Store> | null)?.[method] !== "function",
  );
  if (missing.length === 0) return store;

  throw new ImproperlyConfiguredException(
    `${label} must be a store, but it lacks the methods ${missing.join(", ")}`,
  );
}
