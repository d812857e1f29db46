import { expect } from "chai";

import { decodeStorageObject, encodeStorageObject } from "../../lib/stores/storage-object";

/**
 * Bytes that msgspec 0.22.0 produced for Litestar's `StorageObject` with
 * `msgspec.msgpack.encode(StorageObject(expires_at=..., data=...))`.
 */
const MSGSPEC_VECTORS: Array<{
  name: string;
  expiresAt: number | null;
  data: Buffer;
  hex: string;
}> = [
  {
    name: "no expiry",
    expiresAt: null,
    data: Buffer.from("ab"),
    hex: "82aa657870697265735f6174c0a464617461c4026162",
  },
  {
    name: "32-bit timestamp",
    expiresAt: Date.UTC(2024, 0, 2, 3, 4, 5),
    data: Buffer.from("ab"),
    hex: "82aa657870697265735f6174d6ff65937d25a464617461c4026162",
  },
  {
    name: "64-bit timestamp",
    expiresAt: Date.UTC(2024, 0, 2, 3, 4, 5, 123),
    data: Buffer.from("session"),
    hex: "82aa657870697265735f6174d7ff1d53530065937d25a464617461c40773657373696f6e",
  },
  {
    name: "96-bit timestamp",
    expiresAt: Date.UTC(2600, 0, 1),
    data: Buffer.alloc(0),
    hex: "82aa657870697265735f6174c70cff0000000000000004a0fe7280a464617461c400",
  },
  {
    name: "bin 16 data",
    expiresAt: null,
    data: Buffer.alloc(300, "x"),
    hex: "82aa657870697265735f6174c0a464617461c5012c" + "78".repeat(300),
  },
  {
    name: "bin 32 data",
    expiresAt: null,
    data: Buffer.alloc(70000, "x"),
    hex: "82aa657870697265735f6174c0a464617461c600011170" + "78".repeat(70000),
  },
];

describe("StorageObject encoding", () => {
  for (const vector of MSGSPEC_VECTORS) {
    it(`encodes like msgspec: ${vector.name}`, () => {
      const encoded = encodeStorageObject({ expiresAt: vector.expiresAt, data: vector.data });

      expect(encoded.toString("hex")).to.equal(vector.hex);
    });

    it(`decodes msgspec bytes: ${vector.name}`, () => {
      const decoded = decodeStorageObject(Buffer.from(vector.hex, "hex"));

      expect(decoded.expiresAt).to.equal(vector.expiresAt);
      expect(decoded.data.equals(vector.data)).to.equal(true);
    });
  }

  it("decodes fields in either order", () => {
    const reversed = "82a464617461c4026162aa657870697265735f6174d6ff65937d25";

    const decoded = decodeStorageObject(Buffer.from(reversed, "hex"));

    expect(decoded.expiresAt).to.equal(Date.UTC(2024, 0, 2, 3, 4, 5));
    expect(decoded.data.toString()).to.equal("ab");
  });

  it("round-trips millisecond expiry", () => {
    const expiresAt = Date.UTC(2031, 5, 7, 8, 9, 10, 999);

    const decoded = decodeStorageObject(encodeStorageObject({ expiresAt, data: Buffer.of(1) }));

    expect(decoded.expiresAt).to.equal(expiresAt);
  });

  const invalidRecords: Array<[string, string, RegExp]> = [
    ["empty input", "", /truncated/],
    ["truncated data", "82aa657870697265735f6174c0a464617461c40261", /truncated/],
    ["trailing byte", "82aa657870697265735f6174c0a464617461c4026162c0", /unexpected bytes/],
    ["array instead of map", "92c0c4026162", /expected a map/],
    ["unknown field", "81a3666f6fc0", /unknown or repeated field "foo"/],
    ["repeated field", "82a464617461c40161a464617461c40162", /unknown or repeated field "data"/],
    ["missing data", "81aa657870697265735f6174c0", /missing field "data"/],
    ["missing expires_at", "81a464617461c4026162", /missing field "expires_at"/],
    ["string data", "82aa657870697265735f6174c0a464617461a26162", /expected bin data/],
    ["other extension type", "82aa657870697265735f6174d60165937d25a464617461c4026162", /type 1/],
    ["integer expiry", "82aa657870697265735f6174cd0101a464617461c4026162", /nil or a timestamp/],
  ];

  for (const [name, hex, message] of invalidRecords) {
    it(`rejects ${name}`, () => {
      expect(() => decodeStorageObject(Buffer.from(hex, "hex"))).to.throw(Error, message);
    });
  }
});
