import type { SessionData } from "../../connection/base";
import type { SessionSerializer } from "./base";

/**
 * Tags of the values JSON cannot carry. Each value is encoded as an object with its tag as the
 * only key. The leading space makes a clash with a real key unlikely, and `TAG.escape` wraps
 * any plain object that still looks like a tag, so every value round-trips.
 */
const TAG = {
  date: " d",
  bigint: " n",
  map: " m",
  set: " s",
  bytes: " b",
  escape: " o",
} as const;

const TAG_NAMES: ReadonlySet<string> = new Set(Object.values(TAG));

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * A session serializer that round-trips `Date`, `BigInt`, `Map`, `Set` and `Uint8Array`
 * (read back as `Uint8Array`, also when a `Buffer` was stored). A session without such values
 * is written exactly as `JSON.stringify` writes it, so Litestar can still read it. Litestar
 * cannot decode the tagged forms: it reads them as plain objects such as `{" d": "..."}`.
 */
export const taggedJsonSerializer: SessionSerializer = Object.freeze({
  serialize: (data: SessionData) => JSON.stringify(encodeValue(data, "")),
  deserialize: (text: string) => decodeValue(JSON.parse(text) as Json),
});

/** Converts a value into plain JSON, tagging the types JSON cannot carry. */
function encodeValue(value: unknown, key: string): Json | undefined {
  if (value === null) return null;

  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? value : null;
    case "bigint":
      return { [TAG.bigint]: value.toString() };
    case "object":
      return encodeObject(value, key);
    default:
      // undefined, functions and symbols are dropped, as JSON.stringify drops them.
      return undefined;
  }
}

function encodeObject(value: object, key: string): Json | undefined {
  if (value instanceof Date) {
    return { [TAG.date]: Number.isNaN(value.getTime()) ? null : value.toISOString() };
  }

  if (value instanceof Uint8Array) {
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    return { [TAG.bytes]: bytes.toString("base64") };
  }

  if (value instanceof Map) {
    const entries: Json[] = [];
    for (const [entryKey, entryValue] of value) {
      entries.push([encodeValue(entryKey, "") ?? null, encodeValue(entryValue, "") ?? null]);
    }
    return { [TAG.map]: entries };
  }

  if (value instanceof Set) {
    return { [TAG.set]: [...value].map((item) => encodeValue(item, "") ?? null) };
  }

  if (Array.isArray(value)) return value.map((item) => encodeValue(item, "") ?? null);

  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") return encodeValue(toJSON.call(value, key), key);

  return encodePlainObject(value as Record<string, unknown>);
}

function encodePlainObject(value: Record<string, unknown>): Json {
  const encoded: Record<string, Json> = {};
  let count = 0;
  let onlyKey = "";

  for (const key of Object.keys(value)) {
    const item = encodeValue(value[key], key);
    if (item === undefined) continue;

    encoded[key] = item;
    count += 1;
    onlyKey = key;
  }

  return count === 1 && TAG_NAMES.has(onlyKey) ? { [TAG.escape]: encoded } : encoded;
}

/** Rebuilds tagged values from parsed JSON. */
function decodeValue(value: Json): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(decodeValue);

  const keys = Object.keys(value);
  if (keys.length === 1 && TAG_NAMES.has(keys[0])) return decodeTagged(keys[0], value[keys[0]]);

  return decodePlainObject(value);
}

function decodePlainObject(value: { [key: string]: Json }): Record<string, unknown> {
  const decoded: Record<string, unknown> = {};
  for (const key of Object.keys(value)) decoded[key] = decodeValue(value[key]);
  return decoded;
}

/** Decodes one tagged value; a payload of the wrong shape is kept as the plain object. */
function decodeTagged(tag: string, payload: Json): unknown {
  switch (tag) {
    case TAG.date:
      return payload === null ? new Date(NaN) : new Date(String(payload));
    case TAG.bigint:
      return typeof payload === "string" && /^-?[0-9]+$/.test(payload)
        ? BigInt(payload)
        : { [tag]: payload };
    case TAG.bytes:
      return typeof payload === "string"
        ? new Uint8Array(Buffer.from(payload, "base64"))
        : { [tag]: payload };
    case TAG.map:
      return Array.isArray(payload) ? decodeMap(payload) : { [tag]: payload };
    case TAG.set:
      return Array.isArray(payload) ? new Set(payload.map(decodeValue)) : { [tag]: payload };
    default:
      return payload !== null && typeof payload === "object" && !Array.isArray(payload)
        ? decodePlainObject(payload)
        : { [tag]: payload };
  }
}

function decodeMap(entries: Json[]): Map<unknown, unknown> {
  const map = new Map<unknown, unknown>();

  for (const entry of entries) {
    if (Array.isArray(entry) && entry.length === 2) {
      map.set(decodeValue(entry[0]), decodeValue(entry[1]));
    }
  }

  return map;
}
