import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, stat, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";

import { ImproperlyConfiguredException, StoreError } from "../../lib/exceptions";
import type { Logger } from "../../lib/logger";
import { FileStore, type FileStoreOptions } from "../../lib/stores";
import { rejectionOf, storeContract } from "./contract";

const ENTRY_FILE_NAME = /^[0-9a-f]{64}$/;

/** Creates a clock that the tests move by hand, from `start` (default 2024-01-01T00:00:00Z). */
function createManualClock(start = Date.UTC(2024, 0, 1)) {
  let milliseconds = start;

  return {
    now: () => milliseconds,
    advance: (seconds: number) => {
      milliseconds += seconds * 1000;
    },
  };
}

function createRecordingLogger() {
  const warnings: Array<{ context: object; message?: string }> = [];
  const ignore = () => undefined;
  const logger: Logger = {
    debug: ignore,
    info: ignore,
    warn: (context, message) => warnings.push({ context, message }),
    error: ignore,
  };

  return { logger, warnings };
}

/** Lists every file below `directory`, as paths relative to it. */
async function listFiles(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true, recursive: true });

  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath ?? entry.path, entry.name).slice(directory.length + 1));
}

/**
 * Makes `directory` reject new files. As root, permission bits are not enforced, so the
 * immutable attribute of ext4 is used instead.
 */
function denyWrites(directory: string): () => void {
  if (process.getuid?.() === 0) {
    execFileSync("chattr", ["+i", directory]);
    return () => execFileSync("chattr", ["-i", directory]);
  }

  execFileSync("chmod", ["0500", directory]);
  return () => execFileSync("chmod", ["0700", directory]);
}

describe("FileStore", () => {
  let directory: string;

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), "file-store-"));
  });

  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  function createStore(options: FileStoreOptions = {}): FileStore {
    return new FileStore(join(directory, "store"), options);
  }

  describe("store contract", () => {
    const clock = createManualClock();

    storeContract({
      createStore: async () => createStore({ now: clock.now }),
      advanceClock: (seconds) => clock.advance(seconds),
      shortExpiry: 1,
      destroyStore: async () => undefined,
    });
  });

  describe("files", () => {
    it("names files by BLAKE2s of key", async () => {
      const store = createStore();

      await store.set("session-id/ü", "value");

      // hashlib.blake2s("session-id/ü".encode()).hexdigest() in Python, as Litestar names it.
      const expected = "5c5707b9f31175f22b53404f6cbc968d78a57d1516addf17353ec06aea048d7d";
      expect(await listFiles(store.path)).to.deep.equal([expected]);
      expect(store.pathFromKey("session-id/ü")).to.equal(join(store.path, expected));
    });

    it("keeps traversal keys inside path", async () => {
      const store = createStore();

      await store.set("../../escape", "value");
      await store.set("/absolute", "value");

      const files = await listFiles(directory);
      expect(files).to.have.length(2);
      for (const file of files) {
        expect(file.startsWith("store/")).to.equal(true);
        expect(ENTRY_FILE_NAME.test(file.slice("store/".length))).to.equal(true);
      }
    });

    it("writes Litestar StorageObject bytes", async () => {
      const clock = createManualClock(Date.UTC(2024, 0, 2, 3, 4, 5, 123) - 10_000);
      const store = createStore({ now: clock.now });

      await store.set("key", "session", 10);

      // msgspec 0.22.0 output for
      // StorageObject(expires_at=2024-01-02T03:04:05.123Z, data=b"session").
      const expected = "82aa657870697265735f6174d7ff1d53530065937d25a464617461c40773657373696f6e";
      expect((await readFile(store.pathFromKey("key"))).toString("hex")).to.equal(expected);
    });

    it("reads files Litestar wrote", async () => {
      const clock = createManualClock(Date.UTC(2024, 0, 2, 3, 4, 0));
      const store = createStore({ now: clock.now });
      await mkdir(store.path);
      // msgspec 0.22.0 output for StorageObject(expires_at=2024-01-02T03:04:05Z, data=b"ab").
      const litestarBytes = "82aa657870697265735f6174d6ff65937d25a464617461c4026162";
      await writeFile(store.pathFromKey("key"), Buffer.from(litestarBytes, "hex"));

      expect(Buffer.from((await store.get("key"))!).toString()).to.equal("ab");
      expect(await store.expiresIn("key")).to.equal(5);

      clock.advance(5);
      expect(await store.get("key")).to.equal(null);
    });

    it("creates owner-only files", async () => {
      const store = createStore();

      await store.set("key", "value");

      expect((await stat(store.pathFromKey("key"))).mode & 0o777).to.equal(0o600);
      expect((await stat(store.path)).mode & 0o777).to.equal(0o700);
    });

    it("deletes expired file on read", async () => {
      const clock = createManualClock();
      const store = createStore({ now: clock.now });
      await store.set("key", "value", 1);

      clock.advance(1);

      expect(await store.get("key")).to.equal(null);
      expect(await listFiles(store.path)).to.deep.equal([]);
    });

    it("renewal rewrites the expiry", async () => {
      const clock = createManualClock();
      const store = createStore({ now: clock.now });
      await store.set("key", "value", 10);

      clock.advance(5);
      await store.get("key", 10);
      clock.advance(9.999);

      expect(await store.exists("key")).to.equal(true);
      clock.advance(0.001);
      expect(await store.exists("key")).to.equal(false);
    });
  });

  describe("atomic writes", () => {
    it("leaves no temporary files", async () => {
      const store = createStore();
      const writes = Array.from({ length: 100 }, (_, index) =>
        store.set(`key-${index % 10}`, `value ${index}`),
      );

      await Promise.all(writes);

      const files = await listFiles(store.path);
      expect(files).to.have.length(10);
      for (const file of files) expect(ENTRY_FILE_NAME.test(file), file).to.equal(true);
    });

    it("readers never see partial files", async () => {
      const store = createStore();
      const first = Buffer.alloc(4 * 1024 * 1024, "a");
      const second = Buffer.alloc(4 * 1024 * 1024, "b");
      await store.set("key", first);
      let writing = true;

      const writer = (async () => {
        for (let round = 0; round < 20; round++) {
          await store.set("key", round % 2 === 0 ? second : first);
        }
        writing = false;
      })();
      const reader = (async () => {
        const values: Array<Uint8Array | null> = [];
        for (let round = 0; round < 200 && writing; round++) values.push(await store.get("key"));
        return values;
      })();
      const [values] = await Promise.all([reader, writer]);

      expect(values.length).to.be.greaterThan(0);
      for (const value of values) {
        const bytes = Buffer.from(value!);
        expect(bytes.equals(first) || bytes.equals(second)).to.equal(true);
      }
    });

    it("cleans up after a failed rename", async () => {
      const store = createStore();
      await mkdir(store.pathFromKey("key"), { recursive: true });

      const error = await rejectionOf(store.set("key", "value"));

      expect(error).to.be.instanceOf(StoreError);
      expect(await readdir(store.path)).to.deep.equal([store.pathFromKey("key").slice(-64)]);
    });
  });

  describe("directories", () => {
    it("creates its own directory", async () => {
      const store = createStore();

      await store.set("key", "value");

      expect((await stat(store.path)).isDirectory()).to.equal(true);
    });

    it("needs the parent without createDirectories", async () => {
      const store = new FileStore(join(directory, "missing", "store"));

      const error = await rejectionOf(store.set("key", "value"));

      expect(error).to.be.instanceOf(StoreError);
      expect((error as StoreError).operation).to.equal("set");
      expect(((error as StoreError).cause as NodeJS.ErrnoException).code).to.equal("ENOENT");
    });

    it("creates parents with createDirectories", async () => {
      const store = new FileStore(join(directory, "a", "b", "store"), { createDirectories: true });

      await store.set("key", "value");

      expect(Buffer.from((await store.get("key"))!).toString()).to.equal("value");
    });

    it("puts namespaces in sub-directories", async () => {
      const store = createStore();
      const child = store.withNamespace("sessions");

      await child.set("key", "value");

      expect(child.path).to.equal(join(store.path, "sessions"));
      expect(await listFiles(store.path)).to.deep.equal([
        join("sessions", store.pathFromKey("key").slice(-64)),
      ]);
    });

    it("deleteAll keeps the directory", async () => {
      const store = createStore();
      await store.set("key", "value");
      await store.withNamespace("child").set("key", "value");

      await store.deleteAll();

      expect(await readdir(store.path)).to.deep.equal([]);
    });

    it("deleteAll on missing directory succeeds", async () => {
      const store = createStore();

      await store.deleteAll();

      expect(await store.exists("key")).to.equal(false);
    });

    const invalidNamespaces = ["", "a/b", "..", "a.b", "a_b", "a b", "a-b"];
    for (const namespace of invalidNamespaces) {
      it(`rejects namespace ${JSON.stringify(namespace)}`, () => {
        const store = createStore();

        expect(() => store.withNamespace(namespace)).to.throw(
          ImproperlyConfiguredException,
          /letters and digits/,
        );
      });
    }

    it("accepts unicode letter namespace", async () => {
      const child = createStore().withNamespace("sitzungen2ü");

      await child.set("key", "value");

      expect(await child.exists("key")).to.equal(true);
    });
  });

  describe("deleteExpired", () => {
    it("removes expired files only", async () => {
      const clock = createManualClock();
      const store = createStore({ now: clock.now });
      const child = store.withNamespace("child");
      await store.set("expiring", "value", 1);
      await store.set("lasting", "value");
      await child.set("expiring", "value", 1);
      await child.set("later", "value", 100);

      clock.advance(1);
      await store.deleteExpired();

      expect(await listFiles(store.path)).to.have.members([
        store.pathFromKey("lasting").slice(-64),
        join("child", child.pathFromKey("later").slice(-64)),
      ]);
    });

    it("skips foreign and undecodable files", async () => {
      const { logger, warnings } = createRecordingLogger();
      const store = createStore({ logger });
      await store.set("key", "value");
      const garbage = join(store.path, "f".repeat(64));
      const temporary = `${store.pathFromKey("key")}.tmpabc`;
      await writeFile(garbage, "not msgpack");
      await writeFile(temporary, "partial");

      await store.deleteExpired();

      expect(await listFiles(store.path)).to.have.length(3);
      expect(warnings).to.have.length(1);
      expect(warnings[0].context).to.include({ files: 1 });
    });

    it("succeeds on missing directory", async () => {
      const store = createStore();

      await store.deleteExpired();

      expect(await store.exists("key")).to.equal(false);
    });
  });

  describe("failures", () => {
    it("denied write raises StoreError", async () => {
      const store = createStore();
      await mkdir(store.path);
      const allowWrites = denyWrites(store.path);

      try {
        const error = await rejectionOf(store.set("key", "value"));

        expect(error).to.be.instanceOf(StoreError);
        expect((error as StoreError).store).to.equal("FileStore");
        expect((error as StoreError).operation).to.equal("set");
        const code = ((error as StoreError).cause as NodeJS.ErrnoException).code;
        expect(code).to.be.oneOf(["EACCES", "EPERM"]);
      } finally {
        allowWrites();
      }
    });

    it("path that is a file raises StoreError", async () => {
      const store = createStore();
      await writeFile(store.path, "not a directory");

      const operations: Array<[string, () => Promise<unknown>]> = [
        ["set", () => store.set("key", "value")],
        ["get", () => store.get("key")],
        ["exists", () => store.exists("key")],
        ["expiresIn", () => store.expiresIn("key")],
        ["delete", () => store.delete("key")],
        ["deleteAll", () => store.deleteAll()],
        ["deleteExpired", () => store.deleteExpired()],
      ];

      for (const [operation, call] of operations) {
        const error = await rejectionOf(call());

        expect(error, operation).to.be.instanceOf(StoreError);
        expect((error as StoreError).operation).to.equal(operation);
        expect((error as StoreError).message).to.match(new RegExp(`^FileStore\\.${operation} `));
      }
    });

    it("undecodable entry raises StoreError", async () => {
      const store = createStore();
      await mkdir(store.path);
      await writeFile(store.pathFromKey("key"), "not msgpack");

      const error = await rejectionOf(store.get("key"));

      expect(error).to.be.instanceOf(StoreError);
      expect((error as StoreError).message).to.contain("invalid entry file");
    });
  });

  describe("options", () => {
    const invalidPaths: unknown[] = ["", undefined, 5];
    for (const path of invalidPaths) {
      it(`rejects path ${JSON.stringify(path)}`, () => {
        expect(() => new FileStore(path as string)).to.throw(ImproperlyConfiguredException, /path/);
      });
    }

    it("rejects non-boolean createDirectories", () => {
      const create = () => createStore({ createDirectories: "yes" as unknown as boolean });

      expect(create).to.throw(ImproperlyConfiguredException, /createDirectories/);
    });

    it("resolves a relative path", () => {
      const store = new FileStore("relative-store");

      expect(store.path).to.equal(join(process.cwd(), "relative-store"));
    });
  });
});
