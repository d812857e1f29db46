import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:net";

import { expect } from "chai";
import { Cluster, Redis } from "ioredis";

import { ImproperlyConfiguredException, StoreError } from "../../lib/exceptions";
import type { Logger } from "../../lib/logger";
import { RedisStore } from "../../lib/stores";
import { startRedisServer, type RedisServer } from "../helpers/redis-server";
import { rejectionOf, storeContract, waitFor } from "./contract";

const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** Upper bound for a command against a stopped server, with the default fail-fast options. */
const FAIL_FAST_BOUND_MS = 3_000;

interface MonitoredCommand {
  args: string[];
  source: string;
}

/**
 * Records the commands Redis runs while `action` runs, through MONITOR on a separate connection.
 * Each entry has the command in lower case and its source: the client address, or `lua` for
 * commands that a script ran. `marker` must be an idle, connected client: its PING marks the end.
 */
async function recordCommands(
  url: string,
  marker: Redis,
  action: () => Promise<void>,
): Promise<MonitoredCommand[]> {
  const monitorClient = new Redis(url);
  const monitor = await monitorClient.monitor();
  const commands: MonitoredCommand[] = [];
  monitor.on("monitor", (_time: string, args: string[], source: string) => {
    commands.push({ args: [args[0].toLowerCase(), ...args.slice(1)], source });
  });

  try {
    await action();
    // MONITOR output arrives asynchronously, so wait for the marker that follows the action.
    await marker.ping();
    await waitFor(async () => commands.some((command) => command.args[0] === "ping"), "PING");
    return commands.filter((command) => command.args[0] !== "ping");
  } finally {
    monitor.disconnect();
    monitorClient.disconnect();
  }
}

describe("RedisStore", function () {
  let server: RedisServer;
  let raw: Redis;

  before(async () => {
    server = await startRedisServer();
    raw = new Redis(server.url);
  });

  after(async () => {
    raw?.disconnect();
    await server?.stop();
  });

  beforeEach(async () => {
    await raw.flushdb();
  });

  function createStore(namespace?: string | null): RedisStore {
    return RedisStore.withClient({ url: server.url, namespace, logger: silentLogger });
  }

  describe("store contract", () => {
    storeContract({
      createStore: async () => createStore(`contract${randomBytes(4).toString("hex")}`),
      advanceClock: () => undefined,
      shortExpiry: 0.5,
      destroyStore: (store) => (store as RedisStore).close(),
    });
  });

  describe("key layout", () => {
    let store: RedisStore;

    afterEach(async () => {
      await store.close();
    });

    it("defaults to the LITESTAR namespace", async () => {
      store = createStore();

      await store.set("session-id", "value");

      expect(store.namespace).to.equal("LITESTAR");
      expect(await raw.keys("*")).to.deep.equal(["LITESTAR:session-id"]);
    });

    it("joins nested namespaces with underscores", async () => {
      store = createStore();

      await store.withNamespace("sessions").withNamespace("v2").set("id", "value");

      expect(await raw.keys("*")).to.deep.equal(["LITESTAR_sessions_v2:id"]);
    });

    it("null namespace stores bare keys", async () => {
      store = createStore(null);

      await store.set("id", "value");
      await store.withNamespace("child").set("id", "value");

      expect(await raw.keys("*")).to.have.members(["id", "child:id"]);
    });

    it("stores the raw value bytes", async () => {
      store = createStore();
      const everyByte = Buffer.from(Array.from({ length: 256 }, (_, index) => index));

      await store.set("binary", everyByte);
      await store.set("text", "grüße");

      expect((await raw.getBuffer("LITESTAR:binary"))!.equals(everyByte)).to.equal(true);
      expect((await raw.getBuffer("LITESTAR:text"))!.equals(Buffer.from("grüße"))).to.equal(true);
    });

    it("reads values another client wrote", async () => {
      store = createStore();
      await raw.set("LITESTAR:written-elsewhere", Buffer.from([0, 255, 1]), "EX", 100);

      const value = await store.get("written-elsewhere");

      expect(Buffer.from(value!).equals(Buffer.from([0, 255, 1]))).to.equal(true);
      expect(await store.expiresIn("written-elsewhere")).to.be.within(99, 100);
    });
  });

  describe("expiry in Redis", () => {
    let store: RedisStore;

    beforeEach(() => {
      store = createStore();
    });

    afterEach(async () => {
      await store.close();
    });

    it("sets the TTL in Redis", async () => {
      await store.set("key", "value", 10);

      const pttl = await raw.pttl("LITESTAR:key");

      expect(pttl).to.be.within(9_000, 10_000);
    });

    it("clears the TTL on plain set", async () => {
      await store.set("key", "value", 10);
      await store.set("key", "value");

      expect(await raw.pttl("LITESTAR:key")).to.equal(-1);
    });

    it("keepTtl keeps the TTL", async () => {
      await store.set("key", "first", 10);
      await store.set("key", "second", undefined, { keepTtl: true });

      expect(await raw.pttl("LITESTAR:key")).to.be.within(9_000, 10_000);
      expect((await raw.get("LITESTAR:key"))!).to.equal("second");
    });

    it("rejects keepTtl with expiresIn", async () => {
      const error = await rejectionOf(store.set("key", "value", 10, { keepTtl: true }));

      expect(error).to.be.instanceOf(TypeError);
      expect(await raw.exists("LITESTAR:key")).to.equal(0);
    });

    it("renewFor resets the PTTL", async () => {
      await store.set("key", "value", 1);

      await store.get("key", 100);

      expect(await raw.pttl("LITESTAR:key")).to.be.within(99_000, 100_000);
    });

    it("renewFor works under one second left", async () => {
      await raw.set("LITESTAR:key", "value", "PX", 400);

      await store.get("key", 100);

      expect(await raw.pttl("LITESTAR:key")).to.be.within(99_000, 100_000);
    });

    it("renewFor adds no TTL", async () => {
      await store.set("key", "value");

      await store.get("key", 100);

      expect(await raw.pttl("LITESTAR:key")).to.equal(-1);
    });

    it("renews in one Lua script", async () => {
      await store.set("key", "value", 10);
      await store.get("key", 100);

      const commands = await recordCommands(server.url, raw, async () => {
        await store.get("key", 100);
      });

      const fromClient = commands.filter((command) => command.source !== "lua");
      const fromScript = commands.filter((command) => command.source === "lua");
      expect(fromClient.map((command) => command.args[0])).to.deep.equal(["evalsha"]);
      expect(fromScript.map((command) => command.args[0])).to.deep.equal([
        "get",
        "pttl",
        "pexpire",
      ]);
      expect(fromScript[2].args).to.deep.equal(["pexpire", "LITESTAR:key", "100000"]);
    });

    it("expiresIn rounds up remaining time", async () => {
      await raw.set("LITESTAR:key", "value", "PX", 1_500);

      expect(await store.expiresIn("key")).to.equal(2);
    });
  });

  describe("deleteAll", () => {
    let store: RedisStore;

    afterEach(async () => {
      await store.close();
    });

    it("uses SCAN and UNLINK", async () => {
      store = createStore();
      await store.set("first", "value");
      await store.set("second", "value");

      const commands = await recordCommands(server.url, raw, () => store.deleteAll());

      const names = commands.map((command) => command.args[0]);
      expect(names).to.include("scan");
      expect(names).to.include("unlink");
      expect(names).to.not.include("keys");
      expect(names).to.not.include("del");
      const scan = commands.find((command) => command.args[0] === "scan")!;
      expect(scan.args.slice(2)).to.deep.equal(["MATCH", "LITESTAR*", "COUNT", "1000"]);
    });

    it("keeps foreign keys", async () => {
      store = createStore();
      const foreign = ["LITESTARX:key", "LITESTAR_nocolon", "LITESTAR", "other:key", "key"];
      for (const key of foreign) await raw.set(key, "foreign");
      await raw.set("LITESTAR:own", "value");
      await raw.set("LITESTAR_child:own", "value");
      await raw.set("LITESTAR_child_inner:own", "value");

      await store.deleteAll();

      expect(await raw.keys("*")).to.have.members(foreign);
    });

    it("deletes more keys than one page", async () => {
      store = createStore();
      const pipeline = raw.pipeline();
      for (let index = 0; index < 2_500; index++) pipeline.set(`LITESTAR:key-${index}`, "value");
      pipeline.set("other:key", "foreign");
      await pipeline.exec();

      await store.deleteAll();

      expect(await raw.keys("*")).to.deep.equal(["other:key"]);
    });

    it("escapes glob characters", async () => {
      store = createStore("ns*[a]?");
      await store.set("key", "value");
      const foreign = ["nsX[a]?:key", "ns*a?:key", "ns*[a]x:key", "ns*[b]?:key"];
      for (const key of foreign) await raw.set(key, "foreign");

      const commands = await recordCommands(server.url, raw, () => store.deleteAll());

      const scan = commands.find((command) => command.args[0] === "scan")!;
      // The pattern sent is ns\*\[a\]\?* and MONITOR prints each backslash doubled.
      expect(scan.args[3]).to.equal(String.raw`ns\\*\\[a\\]\\?*`);
      expect(await raw.keys("*")).to.have.members(foreign);
    });

    it("requires a namespace", async () => {
      store = createStore(null);
      await store.set("key", "value");

      const error = await rejectionOf(store.deleteAll());

      expect(error).to.be.instanceOf(ImproperlyConfiguredException);
      expect(await raw.exists("key")).to.equal(1);
    });
  });

  describe("failures", () => {
    it("stopped server raises StoreError fast", async () => {
      const ownServer = await startRedisServer();
      const store = RedisStore.withClient({ url: ownServer.url, logger: silentLogger });

      try {
        await store.set("key", "value");
        await ownServer.stop();

        const started = Date.now();
        const error = await rejectionOf(store.get("key"));
        const elapsed = Date.now() - started;

        expect(error).to.be.instanceOf(StoreError);
        expect((error as StoreError).store).to.equal("RedisStore");
        expect((error as StoreError).operation).to.equal("get");
        expect(elapsed).to.be.lessThan(FAIL_FAST_BOUND_MS);
      } finally {
        await store.close();
        await ownServer.stop();
      }
    });

    it("every operation fails while down", async () => {
      const ownServer = await startRedisServer();
      const store = RedisStore.withClient({ url: ownServer.url, logger: silentLogger });
      await ownServer.stop();

      const operations: Array<[string, () => Promise<unknown>]> = [
        ["set", () => store.set("key", "value")],
        ["get", () => store.get("key")],
        ["get", () => store.get("key", 10)],
        ["delete", () => store.delete("key")],
        ["deleteAll", () => store.deleteAll()],
        ["exists", () => store.exists("key")],
        ["expiresIn", () => store.expiresIn("key")],
      ];

      try {
        for (const [operation, call] of operations) {
          const started = Date.now();
          const error = await rejectionOf(call());

          expect(error, operation).to.be.instanceOf(StoreError);
          expect((error as StoreError).operation).to.equal(operation);
          expect(Date.now() - started, operation).to.be.lessThan(FAIL_FAST_BOUND_MS);
        }
      } finally {
        await store.close();
      }
    });

    it("silent server hits commandTimeout", async () => {
      const sockets = new Set<import("node:net").Socket>();
      const silent: Server = createServer((socket) => {
        sockets.add(socket);
        socket.on("error", () => undefined);
      });
      await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
      const port = (silent.address() as { port: number }).port;
      const store = RedisStore.withClient({
        url: `redis://127.0.0.1:${port}`,
        logger: silentLogger,
        redisOptions: { connectTimeout: 300, commandTimeout: 500 },
      });

      try {
        const started = Date.now();
        const error = await rejectionOf(store.get("key"));

        expect(error).to.be.instanceOf(StoreError);
        expect(Date.now() - started).to.be.lessThan(FAIL_FAST_BOUND_MS);
      } finally {
        await store.close();
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => silent.close(resolve));
      }
    });

    it("logs one error per outage", async () => {
      const ownServer = await startRedisServer();
      const errors: string[] = [];
      const logger: Logger = {
        ...silentLogger,
        error: (_context, message) => errors.push(message!),
      };
      const store = RedisStore.withClient({ url: ownServer.url, logger });

      try {
        await store.set("key", "value");
        await ownServer.stop();
        for (let attempt = 0; attempt < 3; attempt++) await rejectionOf(store.get("key"));

        expect(errors).to.have.length(1);
        expect(errors[0]).to.contain("Redis connection failed");
      } finally {
        await store.close();
      }
    });
  });

  describe("client ownership", () => {
    it("close quits a created client", async () => {
      const store = RedisStore.withClient({
        url: server.url,
        logger: silentLogger,
        redisOptions: { connectionName: "owned-store-client" },
      });
      await store.set("key", "value");
      expect(await raw.client("LIST")).to.contain("name=owned-store-client");

      await store.close();

      await waitFor(
        async () => !String(await raw.client("LIST")).includes("name=owned-store-client"),
        "the store's connection closes",
      );
    });

    it("close leaves a given client open", async () => {
      const client = new Redis(server.url);
      const store = new RedisStore(client);

      try {
        await store.set("key", "value");
        await store.close();

        expect(client.status).to.equal("ready");
        expect(await client.ping()).to.equal("PONG");
      } finally {
        client.disconnect();
      }
    });

    it("handleClientShutdown quits a given client", async () => {
      const client = new Redis(server.url);
      const store = new RedisStore(client, { handleClientShutdown: true });
      await store.set("key", "value");

      await store.close();
      await store.close();

      expect(client.status).to.equal("end");
    });

    it("close of unused store succeeds", async () => {
      const store = createStore();

      await store.close();

      expect(store.handleClientShutdown).to.equal(true);
    });
  });

  describe("options", () => {
    it("rejects a client with keyPrefix", () => {
      const client = new Redis(server.url, { lazyConnect: true, keyPrefix: "app:" });

      try {
        expect(() => new RedisStore(client)).to.throw(ImproperlyConfiguredException, /keyPrefix/);
      } finally {
        client.disconnect();
      }
    });

    it("rejects a Cluster client", () => {
      const cluster = new Cluster([{ host: "127.0.0.1", port: server.port }], {
        lazyConnect: true,
      });

      try {
        const create = () => new RedisStore(cluster as unknown as Redis);

        expect(create).to.throw(ImproperlyConfiguredException, /Cluster/);
      } finally {
        cluster.disconnect();
      }
    });

    it("rejects a value that is no client", () => {
      const create = () => new RedisStore({} as Redis);

      expect(create).to.throw(ImproperlyConfiguredException, /ioredis Redis instance/);
    });

    const invalidNamespaces = ["", "a:b"];
    for (const namespace of invalidNamespaces) {
      it(`rejects namespace ${JSON.stringify(namespace)}`, () => {
        expect(() => createStore(namespace)).to.throw(ImproperlyConfiguredException, /namespace/);
      });

      it(`withNamespace rejects ${JSON.stringify(namespace)}`, async () => {
        const store = createStore();

        try {
          expect(() => store.withNamespace(namespace)).to.throw(ImproperlyConfiguredException);
        } finally {
          await store.close();
        }
      });
    }

    it("rejects a URL without redis scheme", () => {
      const create = () => RedisStore.withClient("http://user:secret@localhost:6379");

      expect(create).to.throw(ImproperlyConfiguredException, /redis:\/\//);
    });

    it("keeps the password out of errors", () => {
      const error = (() => {
        try {
          RedisStore.withClient("http://user:secret@localhost:6379");
        } catch (caught) {
          return caught as Error;
        }
        throw new Error("expected withClient to throw");
      })();

      expect(error.message).to.not.contain("secret");
    });

    it("rejects non-boolean handleClientShutdown", () => {
      const client = new Redis(server.url, { lazyConnect: true });

      try {
        const create = () =>
          new RedisStore(client, { handleClientShutdown: "yes" as unknown as boolean });

        expect(create).to.throw(ImproperlyConfiguredException, /handleClientShutdown/);
      } finally {
        client.disconnect();
      }
    });
  });
});
