/**
 * Byte layout of Litestar's `StorageObject`, the record its `FileStore` writes to each file.
 * msgspec (checked with 0.22.0) encodes it as a MessagePack map with two entries, in this order:
 *
 * - `"expires_at"`: nil for no expiry, or a MessagePack timestamp (extension type -1) in its
 *   32-, 64- or 96-bit form, the smallest that fits;
 * - `"data"`: the stored bytes as bin 8, bin 16 or bin 32.
 *
 * `FileStore` writes the same bytes, so a Litestar app and this library can share a store
 * directory. The MessagePack specification defines the formats:
 * https://github.com/msgpack/msgpack/blob/master/spec.md
 */

export interface StorageObject {
  data: Buffer;

  /** Milliseconds since the epoch, or `null` for no expiry. */
  expiresAt: number | null;
}

const EXPIRES_AT_FIELD = "expires_at";
const DATA_FIELD = "data";
const TIMESTAMP_EXTENSION_TYPE = 0xff; // -1 as a signed byte

// MessagePack format bytes used by the layout.
const NIL = 0xc0;
const FIXMAP_2 = 0x82;
const FIXSTR_BASE = 0xa0;
const BIN_8 = 0xc4;
const BIN_16 = 0xc5;
const BIN_32 = 0xc6;
const FIXEXT_4 = 0xd6;
const FIXEXT_8 = 0xd7;
const EXT_8 = 0xc7;

const TWO_TO_32 = 2 ** 32;
const TWO_TO_34 = 2 ** 34;

/** Encodes `storageObject` exactly as msgspec encodes Litestar's `StorageObject`. */
export function encodeStorageObject(storageObject: StorageObject): Buffer {
  const parts = [
    Buffer.of(FIXMAP_2),
    encodeFixstr(EXPIRES_AT_FIELD),
    storageObject.expiresAt === null ? Buffer.of(NIL) : encodeTimestamp(storageObject.expiresAt),
    encodeFixstr(DATA_FIELD),
    encodeBinHeader(storageObject.data.length),
    storageObject.data,
  ];

  return Buffer.concat(parts);
}

/**
 * Decodes the bytes of a Litestar `StorageObject`. Accepts every string, map, bin and timestamp
 * width that MessagePack allows for these fields, in either field order.
 *
 * @throws Error when the bytes are not such a record, naming what is wrong.
 */
export function decodeStorageObject(bytes: Uint8Array): StorageObject {
  const reader = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  let data: Buffer | undefined;
  let expiresAt: number | null | undefined;

  const entryCount = reader.readMapHeader();
  for (let index = 0; index < entryCount; index++) {
    const name = reader.readString();

    if (name === DATA_FIELD && data === undefined) {
      data = reader.readBin();
    } else if (name === EXPIRES_AT_FIELD && expiresAt === undefined) {
      expiresAt = reader.readOptionalTimestamp();
    } else {
      throw new Error(`unknown or repeated field ${JSON.stringify(name)}`);
    }
  }

  if (!reader.atEnd()) throw new Error("unexpected bytes after the record");

  if (data === undefined) throw new Error(`missing field "${DATA_FIELD}"`);

  if (expiresAt === undefined) throw new Error(`missing field "${EXPIRES_AT_FIELD}"`);

  return { data, expiresAt };
}

function encodeFixstr(text: string): Buffer {
  const bytes = Buffer.from(text, "ascii");
  return Buffer.concat([Buffer.of(FIXSTR_BASE | bytes.length), bytes]);
}

function encodeBinHeader(length: number): Buffer {
  if (length < 2 ** 8) return Buffer.of(BIN_8, length);

  if (length < 2 ** 16) {
    const header = Buffer.alloc(3);
    header[0] = BIN_16;
    header.writeUInt16BE(length, 1);
    return header;
  }

  const header = Buffer.alloc(5);
  header[0] = BIN_32;
  header.writeUInt32BE(length, 1);
  return header;
}

/**
 * Encodes a time in milliseconds since the epoch as a MessagePack timestamp, in the form msgspec
 * chooses. That is 32-bit when there are no nanoseconds and the seconds fit in 32 bits, 64-bit
 * when the seconds fit in 34 bits, and 96-bit otherwise.
 */
function encodeTimestamp(milliseconds: number): Buffer {
  const totalMilliseconds = Math.floor(milliseconds);
  const seconds = Math.floor(totalMilliseconds / 1000);
  const nanoseconds = (totalMilliseconds - seconds * 1000) * 1_000_000;

  if (seconds >= 0 && seconds < TWO_TO_34) {
    if (nanoseconds === 0 && seconds < TWO_TO_32) {
      const timestamp = Buffer.alloc(6);
      timestamp.writeUInt8(FIXEXT_4, 0);
      timestamp.writeUInt8(TIMESTAMP_EXTENSION_TYPE, 1);
      timestamp.writeUInt32BE(seconds, 2);
      return timestamp;
    }

    // 30 bits of nanoseconds, then 34 bits of seconds.
    const packed = (BigInt(nanoseconds) << 34n) | BigInt(seconds);
    const timestamp = Buffer.alloc(10);
    timestamp.writeUInt8(FIXEXT_8, 0);
    timestamp.writeUInt8(TIMESTAMP_EXTENSION_TYPE, 1);
    timestamp.writeBigUInt64BE(packed, 2);
    return timestamp;
  }

  const timestamp = Buffer.alloc(15);
  timestamp.writeUInt8(EXT_8, 0);
  timestamp.writeUInt8(12, 1);
  timestamp.writeUInt8(TIMESTAMP_EXTENSION_TYPE, 2);
  timestamp.writeUInt32BE(nanoseconds, 3);
  timestamp.writeBigInt64BE(BigInt(seconds), 7);
  return timestamp;
}

/** Bounds-checked cursor over a MessagePack buffer. */
class Reader {
  private offset = 0;

  constructor(private readonly bytes: Buffer) {}

  atEnd(): boolean {
    return this.offset === this.bytes.length;
  }

  readMapHeader(): number {
    const format = this.readUInt8();
    if (format >= 0x80 && format <= 0x8f) return format & 0x0f;

    if (format === 0xde) return this.readUInt16();

    if (format === 0xdf) return this.readUInt32();

    throw new Error(`expected a map, found format byte 0x${hex(format)}`);
  }

  readString(): string {
    const format = this.readUInt8();
    const length = this.readStringLength(format);
    return this.take(length).toString("utf8");
  }

  readBin(): Buffer {
    const format = this.readUInt8();

    if (format === BIN_8) return Buffer.from(this.take(this.readUInt8()));

    if (format === BIN_16) return Buffer.from(this.take(this.readUInt16()));

    if (format === BIN_32) return Buffer.from(this.take(this.readUInt32()));

    throw new Error(`expected bin data, found format byte 0x${hex(format)}`);
  }

  /** Reads nil or a timestamp, returning `null` or milliseconds since the epoch. */
  readOptionalTimestamp(): number | null {
    const format = this.readUInt8();
    if (format === NIL) return null;

    const length = this.readExtensionLength(format);
    const type = this.readUInt8();
    if (type !== TIMESTAMP_EXTENSION_TYPE) {
      throw new Error(`expected a timestamp, found extension type ${type}`);
    }

    return this.readTimestampBody(length);
  }

  private readStringLength(format: number): number {
    if (format >= FIXSTR_BASE && format <= 0xbf) return format & 0x1f;

    if (format === 0xd9) return this.readUInt8();

    if (format === 0xda) return this.readUInt16();

    if (format === 0xdb) return this.readUInt32();

    throw new Error(`expected a string, found format byte 0x${hex(format)}`);
  }

  private readExtensionLength(format: number): number {
    if (format === FIXEXT_4) return 4;

    if (format === FIXEXT_8) return 8;

    if (format === EXT_8) return this.readUInt8();

    throw new Error(`expected nil or a timestamp, found format byte 0x${hex(format)}`);
  }

  private readTimestampBody(length: number): number {
    if (length === 4) return this.readUInt32() * 1000;

    if (length === 8) {
      const packed = this.take(8).readBigUInt64BE(0);
      const nanoseconds = Number(packed >> 34n);
      const seconds = Number(packed & (2n ** 34n - 1n));
      return seconds * 1000 + nanoseconds / 1_000_000;
    }

    if (length === 12) {
      const nanoseconds = this.readUInt32();
      const seconds = Number(this.take(8).readBigInt64BE(0));
      return seconds * 1000 + nanoseconds / 1_000_000;
    }

    throw new Error(`invalid timestamp length ${length}`);
  }

  private readUInt8(): number {
    return this.take(1)[0];
  }

  private readUInt16(): number {
    return this.take(2).readUInt16BE(0);
  }

  private readUInt32(): number {
    return this.take(4).readUInt32BE(0);
  }

  private take(length: number): Buffer {
    const end = this.offset + length;
    if (end > this.bytes.length) throw new Error("truncated record");

    const slice = this.bytes.subarray(this.offset, end);
    this.offset = end;
    return slice;
  }
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}
