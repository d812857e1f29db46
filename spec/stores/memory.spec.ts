import { expect } from "chai";

import { ImproperlyConfiguredException } from "../../lib/exceptions";
import { MemoryStore } from "../../lib/stores";
import { storeContract, waitFor } from "./contract";

/** Creates a clock that the tests move by hand, starting at 2024-01-01T00:00:00Z. */
function createManualClock() {
  let milliseconds = Date.UTC(2024, 0, 1);

  return {
    now: () => milliseconds,
    advance: (seconds: number) => {
      milliseconds += seconds * 1000;
    },
  };
}

/** Internals read by the sweep tests: reading an entry through the API would delete it. */
interface MemoryStoreInternals {
  namespace: { entries: Map<string, unknown> };
  sweeper: { timer: NodeJS.Timeout | null };
}

function internals(store: MemoryStore): MemoryStoreInternals {
  return store as unknown as MemoryStoreInternals;
}

describe("MemoryStore", () => {
  describe("store contract", () => {
    const clock = createManualClock();

    storeContract({
      createStore: async () => new MemoryStore({ now: clock.now }),
      advanceClock: (seconds) => clock.advance(seconds),
      shortExpiry: 1,
      destroyStore: (store) => (store as MemoryStore).close(),
    });
  });

  describe("expiry on the clock", () => {
    it("keeps entry until its deadline", async () => {
      const clock = createManualClock();
      const store = new MemoryStore({ now: clock.now, sweepInterval: null });
      await store.set("key", "value", 1);

      clock.advance(0.999);
      expect(await store.exists("key")).to.equal(true);

      clock.advance(0.001);
      expect(await store.exists("key")).to.equal(false);
    });

    it("renewal starts from read time", async () => {
      const clock = createManualClock();
      const store = new MemoryStore({ now: clock.now, sweepInterval: null });
      await store.set("key", "value", 10);

      clock.advance(5);
      await store.get("key", 10);
      clock.advance(9.999);

      expect(await store.exists("key")).to.equal(true);
      clock.advance(0.001);
      expect(await store.exists("key")).to.equal(false);
    });
  });

  describe("sweep", () => {
    let store: MemoryStore;

    afterEach(async () => {
      await store.close();
    });

    it("removes expired entries", async () => {
      const clock = createManualClock();
      store = new MemoryStore({ now: clock.now, sweepInterval: 0.02 });
      const child = store.withNamespace("child");
      await store.set("expiring", "value", 1);
      await store.set("lasting", "value");
      await child.set("expiring", "value", 1);

      clock.advance(1);

      await waitFor(
        async () => internals(store).namespace.entries.size === 1,
        "sweep deletes the expired root entry",
      );
      await waitFor(
        async () => internals(child).namespace.entries.size === 0,
        "sweep deletes the expired child entry",
      );
      expect([...internals(store).namespace.entries.keys()]).to.deep.equal(["lasting"]);
    });

    it("timer does not keep process alive", () => {
      store = new MemoryStore();

      const timer = internals(store).sweeper.timer;

      expect(timer).to.not.equal(null);
      expect(timer!.hasRef()).to.equal(false);
    });

    it("close stops the timer", async () => {
      store = new MemoryStore({ sweepInterval: 0.02 });
      const timer = internals(store).sweeper.timer as NodeJS.Timeout & { _destroyed: boolean };

      await store.close();
      await store.close();

      expect(internals(store).sweeper.timer).to.equal(null);
      // Node.js sets this internal flag when clearInterval() removes the timer.
      expect(timer._destroyed).to.equal(true);
    });

    it("child close stops shared timer", async () => {
      store = new MemoryStore({ sweepInterval: 0.02 });

      await store.withNamespace("child").close();

      expect(internals(store).sweeper.timer).to.equal(null);
    });

    it("null interval starts no timer", () => {
      store = new MemoryStore({ sweepInterval: null });

      expect(internals(store).sweeper.timer).to.equal(null);
    });

    it("deleteExpired removes only expired", async () => {
      const clock = createManualClock();
      store = new MemoryStore({ now: clock.now, sweepInterval: null });
      for (let index = 0; index < 10; index++) {
        await store.set(`key-${index}`, "value", index % 2 === 0 ? 1 : undefined);
      }

      clock.advance(1);
      await store.deleteExpired();

      expect(internals(store).namespace.entries.size).to.equal(5);
      for (let index = 1; index < 10; index += 2) {
        expect(await store.exists(`key-${index}`)).to.equal(true);
      }
    });
  });

  describe("options", () => {
    const validIntervals: Array<number | null | undefined> = [0.001, 1, 2147483, null, undefined];
    for (const sweepInterval of validIntervals) {
      it(`accepts sweepInterval ${String(sweepInterval)}`, async () => {
        const store = new MemoryStore({ sweepInterval });

        await store.close();
      });
    }

    const invalidIntervals: unknown[] = [
      0,
      -1,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      2147484,
      "60",
    ];
    for (const sweepInterval of invalidIntervals) {
      it(`rejects sweepInterval ${String(sweepInterval)}`, () => {
        const create = () => new MemoryStore({ sweepInterval: sweepInterval as number });

        expect(create).to.throw(ImproperlyConfiguredException, /sweepInterval/);
      });
    }

    it("rejects a clock that is no function", () => {
      const create = () => new MemoryStore({ now: 5 as unknown as () => number });

      expect(create).to.throw(ImproperlyConfiguredException, /now must be a function/);
    });

    it("rejects empty namespace", async () => {
      const store = new MemoryStore({ sweepInterval: null });

      expect(() => store.withNamespace("")).to.throw(ImproperlyConfiguredException, /namespace/);
    });
  });
});
