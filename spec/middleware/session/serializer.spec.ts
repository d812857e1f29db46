import { expect } from "chai";

import { silentLogger } from "../../../lib/logger";
import { CookieBackendConfig } from "../../../lib/middleware/session/client-side";
import { taggedJsonSerializer } from "../../../lib/middleware/session/serializer";
import { loadVectorFile, readAsLitestar } from "./helpers";

const SECRET = Buffer.alloc(32, 7);

function roundTrip(data: Record<string, unknown>): unknown {
  return taggedJsonSerializer.deserialize(taggedJsonSerializer.serialize(data));
}

describe("taggedJsonSerializer", () => {
  it("round-trips a Date", () => {
    const date = new Date("2026-12-04T17:00:00.123Z");
    const result = roundTrip({ at: date }) as { at: Date };

    expect(result.at).to.be.instanceOf(Date);
    expect(result.at.getTime()).to.equal(date.getTime());
  });

  it("round-trips an invalid Date", () => {
    const result = roundTrip({ at: new Date(NaN) }) as { at: Date };

    expect(result.at).to.be.instanceOf(Date);
    expect(Number.isNaN(result.at.getTime())).to.equal(true);
  });

  it("round-trips a BigInt", () => {
    const value = 2n ** 70n + 3n;

    expect(roundTrip({ value, negative: -value })).to.deep.equal({ value, negative: -value });
  });

  it("round-trips a Map", () => {
    const map = new Map<unknown, unknown>([
      ["a", 1],
      [2, new Date(0)],
      [true, new Set([1n])],
    ]);

    expect(roundTrip({ map })).to.deep.equal({ map });
  });

  it("round-trips a Set", () => {
    const set = new Set(["a", 1, null]);

    expect(roundTrip({ set })).to.deep.equal({ set });
  });

  it("round-trips a Uint8Array", () => {
    const bytes = new Uint8Array([0, 1, 254, 255]);
    const fromBuffer = roundTrip({ bytes: Buffer.from(bytes) }) as { bytes: Uint8Array };

    expect(roundTrip({ bytes })).to.deep.equal({ bytes });
    expect(fromBuffer.bytes).to.deep.equal(bytes);
  });

  it("round-trips tag-like plain objects", () => {
    const data = { a: { " d": "not a date" }, b: { " o": { " n": "1" } }, c: { " m": 5 } };

    expect(roundTrip(data)).to.deep.equal(data);
  });

  it("writes plain JSON unchanged", () => {
    const data = { user: "zoë", n: 1.5, list: [1, null, "x"], nested: { ok: true } };
    const withDropped = { ...data, skipped: undefined, fn: () => 1 };

    expect(taggedJsonSerializer.serialize(data)).to.equal(JSON.stringify(data));
    expect(taggedJsonSerializer.serialize(withDropped)).to.equal(JSON.stringify(withDropped));
  });

  it("writes Litestar's plaintext for plain sessions", () => {
    const { vectors } = loadVectorFile();
    const plain = vectors.filter(
      (vector) => JSON.stringify(vector.payload) === vector.plaintext_json,
    );

    expect(plain.length).to.be.at.least(20);
    for (const vector of plain) {
      expect(taggedJsonSerializer.serialize(vector.payload)).to.equal(vector.plaintext_json);
    }
  });

  it("loads __proto__ as an own key", () => {
    const text = '{"__proto__":{"isAdmin":true},"prefs":{"__proto__":{"theme":"dark"}}}';

    const loaded = taggedJsonSerializer.deserialize(text) as Record<string, unknown>;
    const prefs = loaded.prefs as Record<string, unknown>;

    expect(Object.getPrototypeOf(loaded)).to.equal(Object.prototype);
    expect(Object.getPrototypeOf(prefs)).to.equal(Object.prototype);
    expect(loaded.isAdmin).to.equal(undefined);
    expect(prefs.theme).to.equal(undefined);
    expect(Object.keys(loaded)).to.deep.equal(["__proto__", "prefs"]);
    expect(Object.keys(prefs)).to.deep.equal(["__proto__"]);
  });

  it("writes __proto__ as an own key", () => {
    const data = JSON.parse('{"prefs":{"__proto__":{"isAdmin":true}},"a":1}') as Record<
      string,
      unknown
    >;

    const text = taggedJsonSerializer.serialize(data);
    const loaded = taggedJsonSerializer.deserialize(text) as Record<string, unknown>;

    expect(text).to.equal('{"prefs":{"__proto__":{"isAdmin":true}},"a":1}');
    expect(Object.keys(loaded.prefs as object)).to.deep.equal(["__proto__"]);
  });

  it("rejects a cycle naming its path", () => {
    const data: Record<string, unknown> = { user: { roles: [{}] } };
    (
      (data.user as { roles: Array<Record<string, unknown>> }).roles[0] as { owner?: unknown }
    ).owner = data;

    expect(() => taggedJsonSerializer.serialize(data))
      .to.throw(TypeError)
      .with.property("message")
      .that.matches(/cycle at user\.roles\[0\]\.owner/);
  });

  it("rejects a cycle through a Map", () => {
    const map = new Map<string, unknown>();
    map.set("self", map);

    expect(() => taggedJsonSerializer.serialize({ map }))
      .to.throw(TypeError)
      .with.property("message")
      .that.matches(/cycle at map\[0\]/);
  });

  it("writes shared objects twice", () => {
    const shared = { n: 1 };

    expect(roundTrip({ a: shared, b: [shared] })).to.deep.equal({ a: { n: 1 }, b: [{ n: 1 }] });
  });

  it("keeps malformed tags as objects", () => {
    const text = '{"a":{" n":"12x"},"b":{" m":3},"c":{" b":4}}';

    expect(taggedJsonSerializer.deserialize(text)).to.deep.equal({
      a: { " n": "12x" },
      b: { " m": 3 },
      c: { " b": 4 },
    });
  });

  it("carries tagged values in cookies", async () => {
    const config = new CookieBackendConfig({
      secret: SECRET,
      serializer: taggedJsonSerializer,
      logger: silentLogger,
    });
    const data = { at: new Date(5), ids: new Set([1, 2]), big: 10n };

    const chunks = config.backend.dumpData(data);

    expect(config.backend.loadData(chunks)).to.deep.equal(data);
    expect(readAsLitestar(SECRET, chunks)).to.deep.equal({
      at: { " d": "1970-01-01T00:00:00.005Z" },
      ids: { " s": [1, 2] },
      big: { " n": "10" },
    });
  });
});
