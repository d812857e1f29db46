import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";

import { ImproperlyConfiguredException } from "../exceptions";
import { defaultLogger, type Logger } from "../logger";
import type { NamespacedStore } from "./base";
import { decodeStorageObject, encodeStorageObject, type StorageObject } from "./storage-object";
import { secondsUntil, toBytes, toExpiryMilliseconds, toStoreError, validateClock } from "./values";

export interface FileStoreOptions {
  /**
   * Create `path` and its missing parents on the first write. When `false`, only the last
   * directory of `path` is created, and a missing parent makes writes fail. Default: `false`.
   */
  createDirectories?: boolean;

  /** Clock in milliseconds since the epoch, used for every expiry decision. Default: `Date.now`. */
  now?: () => number;

  /** Receives a warning when `deleteExpired()` skips files it cannot decode. */
  logger?: Logger;
}

const STORE_NAME = "FileStore";

/** Entry files are named by the 64 hex digits of a BLAKE2s-256 digest. Temporary files are not. */
const ENTRY_FILE_NAME = /^[0-9a-f]{64}$/;

/** Litestar's rule for namespace names (`str.isalnum()`): letters and digits only. */
const NAMESPACE_NAME = /^[\p{L}\p{N}]+$/u;

// Entries may hold session data, so only the owner can read them.
const FILE_MODE = 0o600;
const DIRECTORY_MODE = 0o700;

/**
 * Store that keeps one file per key in a directory, ported from Litestar's `FileStore` and
 * compatible with it. A file is named by the BLAKE2s-256 hex digest of the key's UTF-8 bytes and
 * contains Litestar's `StorageObject` record (see `storage-object.ts`), so both can share a
 * directory.
 *
 * Hashing makes any key a safe file name: `/`, `..`, NUL or very long keys never reach the file
 * system as paths. Each write goes to a temporary file in the same directory, which is then
 * renamed over the entry, so readers see the old or the new content and never a partial file.
 * Files are not fsynced, so a crash of the machine may lose recent writes.
 *
 * Expired files are deleted when they are read. Call `deleteExpired()` periodically to remove the
 * files that are never read again.
 */
export class FileStore implements NamespacedStore {
  /** Absolute path of the directory that contains this store's files. */
  readonly path: string;

  private readonly createDirectories: boolean;
  private readonly now: () => number;
  private readonly logger: Logger;

  /** Directory of the store that `withNamespace()` started from. */
  private rootPath: string;

  constructor(path: string, options: FileStoreOptions = {}) {
    if (typeof path !== "string" || path === "") {
      throw new ImproperlyConfiguredException(
        `path must be a non-empty string naming a directory, got ${JSON.stringify(path)}`,
      );
    }

    this.path = resolve(path);
    this.rootPath = this.path;
    this.createDirectories = validateCreateDirectories(options.createDirectories);
    this.now = validateClock(options.now);
    this.logger = options.logger ?? defaultLogger();
  }

  async set(key: string, value: string | Uint8Array, expiresIn?: number | null): Promise<void> {
    const data = toBytes(value);
    const lifetime = toExpiryMilliseconds(expiresIn, "expiresIn");
    const storageObject = { data, expiresAt: this.expiryFrom(lifetime) };

    try {
      await this.write(this.pathFromKey(key), storageObject);
    } catch (error) {
      throw toStoreError(STORE_NAME, "set", error);
    }
  }

  async get(key: string, renewFor?: number | null): Promise<Uint8Array | null> {
    const lifetime = toExpiryMilliseconds(renewFor, "renewFor");

    try {
      const filePath = this.pathFromKey(key);
      const storageObject = await this.loadLive(filePath);
      if (storageObject === null) return null;

      if (lifetime !== null && storageObject.expiresAt !== null) {
        await this.write(filePath, { ...storageObject, expiresAt: this.expiryFrom(lifetime) });
      }

      return storageObject.data;
    } catch (error) {
      throw toStoreError(STORE_NAME, "get", error);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await rm(this.pathFromKey(key), { force: true });
    } catch (error) {
      throw toStoreError(STORE_NAME, "delete", error);
    }
  }

  /**
   * Deletes every file and child namespace directory under `path`. The directory itself stays, so
   * writes running at the same time do not fail.
   */
  async deleteAll(): Promise<void> {
    try {
      const names = await listDirectory(this.path);
      const removals = names.map((name) =>
        rm(join(this.path, name), { recursive: true, force: true }),
      );
      await Promise.all(removals);
    } catch (error) {
      throw toStoreError(STORE_NAME, "deleteAll", error);
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await this.loadLive(this.pathFromKey(key))) !== null;
    } catch (error) {
      throw toStoreError(STORE_NAME, "exists", error);
    }
  }

  async expiresIn(key: string): Promise<number | null> {
    try {
      const storageObject = await this.loadLive(this.pathFromKey(key));
      if (storageObject === null || storageObject.expiresAt === null) return null;

      return secondsUntil(storageObject.expiresAt, this.now());
    } catch (error) {
      throw toStoreError(STORE_NAME, "expiresIn", error);
    }
  }

  /**
   * Deletes the expired entry files of this store and of its child namespaces. Temporary files
   * and files that do not decode as entries are left in place.
   */
  async deleteExpired(): Promise<void> {
    try {
      const undecodable = await this.deleteExpiredIn(this.path, this.now());
      if (undecodable > 0) {
        this.logger.warn(
          { store: STORE_NAME, path: this.path, files: undecodable },
          "skipped entry files that could not be decoded while deleting expired entries",
        );
      }
    } catch (error) {
      throw toStoreError(STORE_NAME, "deleteExpired", error);
    }
  }

  /**
   * Returns a store that keeps its files in the sub-directory `namespace` of `path`. As in
   * Litestar, the name must consist of letters and digits only, so it can never leave `path`.
   */
  withNamespace(namespace: string): FileStore {
    if (typeof namespace !== "string" || !NAMESPACE_NAME.test(namespace)) {
      throw new ImproperlyConfiguredException(
        `namespace must consist of letters and digits only, got ${JSON.stringify(namespace)}`,
      );
    }

    const child = new FileStore(join(this.path, namespace), {
      createDirectories: this.createDirectories,
      now: this.now,
      logger: this.logger,
    });
    child.rootPath = this.rootPath;
    return child;
  }

  /** Does nothing, because the store keeps no files or handles open between operations. */
  async close(): Promise<void> {}

  /** Returns the file path for `key`, named as Litestar's `FileStore` names it. */
  pathFromKey(key: string): string {
    const digest = createHash("blake2s256").update(key, "utf8").digest("hex");
    return join(this.path, digest);
  }

  /** Reads an entry, deleting it and returning `null` when it has expired. */
  private async loadLive(filePath: string): Promise<StorageObject | null> {
    const storageObject = await readStorageObject(filePath);
    if (storageObject === null) return null;

    if (storageObject.expiresAt !== null && this.now() >= storageObject.expiresAt) {
      await rm(filePath, { force: true });
      return null;
    }

    return storageObject;
  }

  private async write(filePath: string, storageObject: StorageObject): Promise<void> {
    const bytes = encodeStorageObject(storageObject);

    try {
      await writeAtomically(filePath, bytes);
    } catch (error) {
      if (!isErrorCode(error, "ENOENT")) throw error;

      await this.ensureDirectory();
      await writeAtomically(filePath, bytes);
    }
  }

  private async ensureDirectory(): Promise<void> {
    if (this.createDirectories) {
      await mkdir(this.path, { recursive: true, mode: DIRECTORY_MODE });
      return;
    }

    // As in Litestar, the store's own directory may be created but its parent must exist.
    await mkdir(this.rootPath, { mode: DIRECTORY_MODE }).catch((error: unknown) => {
      if (!isErrorCode(error, "EEXIST")) throw error;
    });

    if (this.path !== this.rootPath) {
      await mkdir(this.path, { recursive: true, mode: DIRECTORY_MODE });
    }
  }

  /** Returns how many entry files could not be decoded. */
  private async deleteExpiredIn(directory: string, now: number): Promise<number> {
    const entries = await readdir(directory, { withFileTypes: true }).catch((error: unknown) => {
      if (isErrorCode(error, "ENOENT")) return [];
      throw error;
    });
    let undecodable = 0;

    for (const entry of entries) {
      const entryPath = join(directory, entry.name);

      if (entry.isDirectory() && NAMESPACE_NAME.test(entry.name)) {
        undecodable += await this.deleteExpiredIn(entryPath, now);
      } else if (entry.isFile() && ENTRY_FILE_NAME.test(entry.name)) {
        undecodable += await deleteIfExpired(entryPath, now);
      }
    }

    return undecodable;
  }

  private expiryFrom(lifetime: number | null): number | null {
    return lifetime === null ? null : this.now() + lifetime;
  }
}

/** A file in the store directory that does not hold a `StorageObject` record. */
class InvalidEntryFileError extends Error {
  constructor(filePath: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`invalid entry file ${filePath}: ${reason}`, { cause });
  }
}

/** Returns the decoded entry at `filePath`, or `null` when the file does not exist. */
async function readStorageObject(filePath: string): Promise<StorageObject | null> {
  let bytes: Buffer;
  try {
    bytes = await readFile(filePath);
  } catch (error) {
    if (isErrorCode(error, "ENOENT")) return null;
    throw error;
  }

  try {
    return decodeStorageObject(bytes);
  } catch (error) {
    throw new InvalidEntryFileError(filePath, error);
  }
}

/** Deletes the entry file when it has expired. Returns 1 when it could not be decoded, else 0. */
async function deleteIfExpired(filePath: string, now: number): Promise<number> {
  let storageObject: StorageObject | null;
  try {
    storageObject = await readStorageObject(filePath);
  } catch (error) {
    if (error instanceof InvalidEntryFileError) return 1;
    throw error;
  }

  if (storageObject?.expiresAt != null && now >= storageObject.expiresAt) {
    await rm(filePath, { force: true });
  }

  return 0;
}

/**
 * Writes `bytes` to a new temporary file next to `filePath`, then renames it over `filePath`.
 * rename() replaces the target atomically on POSIX file systems.
 */
async function writeAtomically(filePath: string, bytes: Buffer): Promise<void> {
  const temporaryPath = `${filePath}.tmp${randomBytes(8).toString("hex")}`;

  try {
    await writeFile(temporaryPath, bytes, { flag: "wx", mode: FILE_MODE });
    await rename(temporaryPath, filePath);
  } catch (error) {
    // The write or rename failure is the one to report, so a failed clean-up is ignored.
    await rm(temporaryPath, { force: true }).catch(() => undefined);
    throw error;
  }
}

async function listDirectory(directory: string): Promise<string[]> {
  try {
    return await readdir(directory);
  } catch (error) {
    if (isErrorCode(error, "ENOENT")) return [];
    throw error;
  }
}

function isErrorCode(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === code;
}

function validateCreateDirectories(createDirectories: boolean | undefined): boolean {
  const value = createDirectories ?? false;
  if (typeof value === "boolean") return value;

  throw new ImproperlyConfiguredException(
    `createDirectories must be a boolean, got ${JSON.stringify(createDirectories)}`,
  );
}
