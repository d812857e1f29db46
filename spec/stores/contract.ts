/**
 * The behaviour every store must share, written once and run against each implementation from its
 * own spec file inside a `describe` block.
 */

import { expect } from "chai";

import type { NamespacedStore } from "../../lib/stores";
import { MAX_EXPIRY_SECONDS } from "../../lib/stores";

export interface StoreHarness {
  /** Returns a new, empty store. Called before every test. */
  createStore(): Promise<NamespacedStore>;

  /**
   * Lets `seconds` pass for the store. A store with an injected clock moves it. A store on the
   * real clock returns at once, and the tests then poll until the expected state is reached.
   */
  advanceClock(seconds: number): void;

  /** Expiry in seconds for the expiry tests: long enough to read the entry back before it ends. */
  shortExpiry: number;

  /** Releases what `createStore()` opened. Called after every test. */
  destroyStore(store: NamespacedStore): Promise<void>;
}

/** Upper bound for polls that wait for a real-clock expiry. */
const EXPIRY_POLL_TIMEOUT_MS = 5_000;

/**
 * Polls `condition` every 20 ms until it returns true, failing with `description` after
 * `timeoutMs`.
 */
export async function waitFor(
  condition: () => Promise<boolean>,
  description: string,
  timeoutMs = EXPIRY_POLL_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;

  while (!(await condition())) {
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms: ${description}`);

    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Returns `promise`'s rejection, failing the test when it resolves instead. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }

  throw new Error("expected the promise to reject, but it resolved");
}

function text(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : Buffer.from(bytes).toString("utf8");
}

export function storeContract(harness: StoreHarness): void {
  let store: NamespacedStore;

  beforeEach(async () => {
    store = await harness.createStore();
  });

  afterEach(async () => {
    await harness.destroyStore(store);
  });

  describe("get and set", () => {
    it("get returns null for missing key", async () => {
      expect(await store.get("missing")).to.equal(null);
    });

    it("round-trips bytes", async () => {
      await store.set("key", Uint8Array.of(1, 2, 3));

      const value = await store.get("key");

      expect(value).to.be.instanceOf(Uint8Array);
      expect(Buffer.from(value!).equals(Buffer.of(1, 2, 3))).to.equal(true);
    });

    it("stores strings as UTF-8", async () => {
      await store.set("key", "grüße 🔑");

      const value = await store.get("key");

      expect(Buffer.from(value!).equals(Buffer.from("grüße 🔑", "utf8"))).to.equal(true);
    });

    it("overwrites value and expiry", async () => {
      await store.set("key", "first", 100);
      await store.set("key", "second");

      expect(text(await store.get("key"))).to.equal("second");
      expect(await store.expiresIn("key")).to.equal(null);
    });

    it("copies bytes on set and get", async () => {
      const source = Buffer.from("original");
      await store.set("key", source);
      source.fill(0);

      const first = await store.get("key");
      first!.fill(0);

      expect(text(await store.get("key"))).to.equal("original");
    });

    it("stores empty value", async () => {
      await store.set("key", "");

      const value = await store.get("key");

      expect(value).to.not.equal(null);
      expect(value!.length).to.equal(0);
    });
  });

  describe("delete and exists", () => {
    it("delete removes key", async () => {
      await store.set("key", "value");

      await store.delete("key");

      expect(await store.get("key")).to.equal(null);
      expect(await store.exists("key")).to.equal(false);
    });

    it("delete of missing key succeeds", async () => {
      await store.delete("missing");

      expect(await store.exists("missing")).to.equal(false);
    });

    it("exists reports stored keys", async () => {
      expect(await store.exists("key")).to.equal(false);

      await store.set("key", "value");

      expect(await store.exists("key")).to.equal(true);
    });
  });

  describe("expiry", () => {
    it("expiresIn is null without expiry", async () => {
      await store.set("key", "value");

      expect(await store.expiresIn("key")).to.equal(null);
    });

    it("expiresIn is null for missing key", async () => {
      expect(await store.expiresIn("missing")).to.equal(null);
    });

    it("expiresIn reports remaining seconds", async () => {
      await store.set("key", "value", 100);

      const remaining = await store.expiresIn("key");

      expect(remaining).to.be.a("number");
      expect(remaining).to.be.within(99, 100);
    });

    it("entry expires after its lifetime", async () => {
      await store.set("key", "value", harness.shortExpiry);
      expect(text(await store.get("key"))).to.equal("value");

      harness.advanceClock(harness.shortExpiry);

      await waitFor(async () => (await store.get("key")) === null, "get returns null");
      expect(await store.exists("key")).to.equal(false);
      expect(await store.expiresIn("key")).to.equal(null);
    });

    it("expired entry is gone for exists", async () => {
      await store.set("key", "value", harness.shortExpiry);

      harness.advanceClock(harness.shortExpiry);

      await waitFor(async () => !(await store.exists("key")), "exists returns false");
      expect(await store.get("key")).to.equal(null);
    });

    it("renewFor resets the expiry", async () => {
      await store.set("key", "value", harness.shortExpiry);

      const value = await store.get("key", 60);
      harness.advanceClock(harness.shortExpiry * 2);

      expect(text(value)).to.equal("value");
      expect(text(await store.get("key"))).to.equal("value");
      expect(await store.expiresIn("key")).to.be.within(55, 60);
    });

    it("renewFor keeps entry without expiry", async () => {
      await store.set("key", "value");

      expect(text(await store.get("key", 60))).to.equal("value");

      expect(await store.expiresIn("key")).to.equal(null);
    });

    it("renewFor on missing key returns null", async () => {
      expect(await store.get("missing", 60)).to.equal(null);

      expect(await store.exists("missing")).to.equal(false);
    });

    it("accepts fractional and maximum expiry", async () => {
      await store.set("fraction", "value", 0.5);
      await store.set("maximum", "value", MAX_EXPIRY_SECONDS);

      expect(await store.expiresIn("fraction")).to.equal(1);
      expect(await store.expiresIn("maximum")).to.be.within(
        MAX_EXPIRY_SECONDS - 5,
        MAX_EXPIRY_SECONDS,
      );
    });

    const invalidExpiries: Array<[unknown, string]> = [
      [0, "RangeError"],
      [-1, "RangeError"],
      [Number.NaN, "RangeError"],
      [Number.POSITIVE_INFINITY, "RangeError"],
      [MAX_EXPIRY_SECONDS + 1, "RangeError"],
      ["60", "TypeError"],
    ];

    for (const [expiry, errorName] of invalidExpiries) {
      const label = typeof expiry === "string" ? JSON.stringify(expiry) : String(expiry);

      it(`rejects expiresIn ${label}`, async () => {
        const error = await rejectionOf(store.set("key", "value", expiry as number));

        expect((error as Error).name).to.equal(errorName);
        expect((error as Error).message).to.contain("expiresIn");
        expect(await store.exists("key")).to.equal(false);
      });

      it(`rejects renewFor ${label}`, async () => {
        await store.set("key", "value", 100);

        const error = await rejectionOf(store.get("key", expiry as number));

        expect((error as Error).name).to.equal(errorName);
        expect((error as Error).message).to.contain("renewFor");
      });
    }
  });

  describe("namespaces", () => {
    it("isolate the same key", async () => {
      const first = store.withNamespace("first");
      const second = store.withNamespace("second");

      await store.set("key", "root");
      await first.set("key", "first");
      await second.set("key", "second");

      expect(text(await store.get("key"))).to.equal("root");
      expect(text(await first.get("key"))).to.equal("first");
      expect(text(await second.get("key"))).to.equal("second");
    });

    it("share entries for equal names", async () => {
      await store.withNamespace("child").set("key", "value");

      expect(text(await store.withNamespace("child").get("key"))).to.equal("value");
    });

    it("nest below a child", async () => {
      const child = store.withNamespace("child");
      const grandchild = child.withNamespace("inner");

      await grandchild.set("key", "inner");

      expect(await child.get("key")).to.equal(null);
      expect(text(await grandchild.get("key"))).to.equal("inner");
    });

    it("deleteAll clears store and children", async () => {
      const child = store.withNamespace("child");
      const grandchild = child.withNamespace("inner");
      await store.set("key", "root");
      await child.set("key", "child");
      await grandchild.set("key", "inner");

      await store.deleteAll();

      expect(await store.get("key")).to.equal(null);
      expect(await child.get("key")).to.equal(null);
      expect(await grandchild.get("key")).to.equal(null);
    });

    it("deleteAll on child keeps parent", async () => {
      const child = store.withNamespace("child");
      await store.set("key", "root");
      await child.set("key", "child");

      await child.deleteAll();

      expect(await child.get("key")).to.equal(null);
      expect(text(await store.get("key"))).to.equal("root");
    });

    it("deleteAll keeps sibling with longer name", async () => {
      const short = store.withNamespace("a");
      const long = store.withNamespace("ab");
      await short.set("key", "short");
      await long.set("key", "long");

      await short.deleteAll();

      expect(await short.get("key")).to.equal(null);
      expect(text(await long.get("key"))).to.equal("long");
    });

    it("store accepts writes after deleteAll", async () => {
      await store.set("key", "before");
      await store.deleteAll();

      await store.set("key", "after");

      expect(text(await store.get("key"))).to.equal("after");
    });
  });

  describe("data", () => {
    it("handles many concurrent sets", async () => {
      const keys = Array.from({ length: 200 }, (_, index) => `key-${index}`);

      await Promise.all(keys.map((key) => store.set(key, `value of ${key}`)));
      const values = await Promise.all(keys.map((key) => store.get(key)));

      values.forEach((value, index) => {
        expect(text(value)).to.equal(`value of ${keys[index]}`);
      });
    });

    it("stores 1 MB value", async () => {
      const large = Buffer.alloc(1024 * 1024);
      for (let index = 0; index < large.length; index++) large[index] = (index * 31) % 251;

      await store.set("large", large);
      const value = await store.get("large");

      expect(value!.length).to.equal(large.length);
      expect(Buffer.from(value!).equals(large)).to.equal(true);
    });

    it("stores all 256 byte values", async () => {
      const everyByte = Buffer.from(Array.from({ length: 256 }, (_, index) => index));

      await store.set("binary", everyByte);
      const value = await store.get("binary");

      expect(Buffer.from(value!).equals(everyByte)).to.equal(true);
    });

    it("keeps odd keys apart", async () => {
      const keys = [
        "/",
        "..",
        "../escape",
        "a/b",
        "a\\b",
        "*",
        "?",
        "[",
        "]",
        "[a-z]",
        "key:with:colons",
        "ünïcödé",
        "🔑",
        "line\nbreak",
        "nul\u0000byte",
        " ",
        "",
        "x".repeat(1000),
      ];

      for (const [index, key] of keys.entries()) await store.set(key, `value ${index}`);

      for (const [index, key] of keys.entries()) {
        expect(text(await store.get(key)), JSON.stringify(key)).to.equal(`value ${index}`);
      }
    });
  });
}
