import type { Headers } from "../types/asgi";

/**
 * A read-only, case-insensitive view of a request's ASGI header list. Values stay latin-1
 * strings of the raw bytes; `getAll` keeps duplicates in wire order.
 */
export class RequestHeaders implements Iterable<[string, string]> {
  readonly raw: Headers;

  constructor(raw: Headers) {
    this.raw = raw;
  }

  /** Returns the first value of `name`, or undefined when the header is absent. */
  get(name: string): string | undefined {
    const wanted = name.toLowerCase();

    for (const [headerName, value] of this.raw) {
      if (headerName === wanted) return value;
    }

    return undefined;
  }

  /** Returns every value of `name` in wire order. */
  getAll(name: string): string[] {
    const wanted = name.toLowerCase();
    const values: string[] = [];

    for (const [headerName, value] of this.raw) {
      if (headerName === wanted) values.push(value);
    }

    return values;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  [Symbol.iterator](): Iterator<[string, string]> {
    return this.raw[Symbol.iterator]();
  }
}

/** Decodes a latin-1 byte string as UTF-8, leaving pure-ASCII strings as they are. */
export function latin1ToUtf8(value: string): string {
  for (let i = 0; i < value.length; i++) {
    if (value.charCodeAt(i) > 0x7f) return Buffer.from(value, "latin1").toString("utf8");
  }

  return value;
}
