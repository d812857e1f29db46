export { isNamespacedStore, type NamespacedStore, type Store } from "./base";
export { FileStore, type FileStoreOptions } from "./file";
export { MemoryStore, type MemoryStoreOptions } from "./memory";
export {
  RedisStore,
  type RedisSetOptions,
  type RedisStoreClientOptions,
  type RedisStoreOptions,
} from "./redis";
export {
  defaultStoreFactory,
  StoreRegistry,
  type RegisterStoreOptions,
  type StoreFactory,
  type StoreRegistryOptions,
} from "./registry";
export { MAX_EXPIRY_SECONDS } from "./values";
