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
 * A key named `__proto__` stays an ordinary key both ways. `serialize` throws a `TypeError`
 * naming the path of a cycle, as `JSON.stringify` throws on one.
 */
export const taggedJsonSerializer: SessionSerializer = Object.freeze({
  serialize: (data: SessionData) => JSON.stringify(encodeValue(data, "", "", new Set())),
  deserialize: (text: string) => decodeValue(JSON.parse(text) as Json),
});

/**
 * Converts a value into plain JSON, tagging the types JSON cannot carry. `path` names the
 * value for error messages, and `ancestors` contains the objects that contain it.
 */
function encodeValue(
  value: unknown,
  key: string,
  path: string,
  ancestors: Set<object>,
): Json | undefined {
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
      return encodeContainer(value, key, path, ancestors);
    default:
      // undefined, functions and symbols are dropped, as JSON.stringify drops them.
      return undefined;
  }
}

/** Encodes an object once its ancestors are known not to include it. */
function encodeContainer(
  value: object,
  key: string,
  path: string,
  ancestors: Set<object>,
): Json | undefined {
  if (ancestors.has(value)) {
    throw new TypeError(
      `session data contains a cycle at ${path || "the top level"}: an object refers back to ` +
        "one that contains it, so it cannot be serialized; store ids instead of references",
    );
  }

  ancestors.add(value);
  try {
    return encodeObject(value, key, path, ancestors);
  } finally {
    ancestors.delete(value);
  }
}

function encodeObject(
  value: object,
  key: string,
  path: string,
  ancestors: Set<object>,
): Json | undefined {
  if (value instanceof Date) {
    return { [TAG.date]: Number.isNaN(value.getTime()) ? null : value.toISOString() };
  }

  if (value instanceof Uint8Array) {
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    return { [TAG.bytes]: bytes.toString("base64") };
  }

  if (value instanceof Map) return { [TAG.map]: encodeMapEntries(value, path, ancestors) };

  if (value instanceof Set) {
    return { [TAG.set]: encodeItems([...value], path, ancestors) };
  }

  if (Array.isArray(value)) return encodeItems(value, path, ancestors);

  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") {
    return encodeValue(toJSON.call(value, key), key, path, ancestors);
  }

  return encodePlainObject(value as Record<string, unknown>, path, ancestors);
}

function encodeItems(items: readonly unknown[], path: string, ancestors: Set<object>): Json[] {
  return items.map((item, index) => encodeValue(item, "", `${path}[${index}]`, ancestors) ?? null);
}

function encodeMapEntries(
  map: Map<unknown, unknown>,
  path: string,
  ancestors: Set<object>,
): Json[] {
  const entries: Json[] = [];
  let index = 0;

  for (const [entryKey, entryValue] of map) {
    const entryPath = `${path}[${index}]`;
    entries.push([
      encodeValue(entryKey, "", entryPath, ancestors) ?? null,
      encodeValue(entryValue, "", entryPath, ancestors) ?? null,
    ]);
    index += 1;
  }

  return entries;
}

function encodePlainObject(
  value: Record<string, unknown>,
  path: string,
  ancestors: Set<object>,
): Json {
  const encoded: Record<string, Json> = {};
  let count = 0;
  let onlyKey = "";

  for (const key of Object.keys(value)) {
    const item = encodeValue(value[key], key, path === "" ? key : `${path}.${key}`, ancestors);
    if (item === undefined) continue;

    setOwn(encoded, key, item);
    count += 1;
    onlyKey = key;
  }

  return count === 1 && TAG_NAMES.has(onlyKey) ? { [TAG.escape]: encoded } : encoded;
}

/**
 * Sets `key` as an own, enumerable property. A plain assignment of `__proto__` would call the
 * prototype setter: it would replace the object's prototype and drop the key.
 */
function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  if (key === "__proto__") {
    Object.defineProperty(target, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
    return;
  }

  target[key] = value;
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
  for (const key of Object.keys(value)) setOwn(decoded, key, decodeValue(value[key]));
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
