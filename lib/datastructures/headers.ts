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
    const target = name.toLowerCase();

    for (const [headerName, value] of this.raw) {
      if (headerName === target) return value;
    }

    return undefined;
  }

  /** Returns every value of `name` in wire order. */
  getAll(name: string): string[] {
    const target = name.toLowerCase();
    const values: string[] = [];

    for (const [headerName, value] of this.raw) {
      if (headerName === target) values.push(value);
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
  // Only ASCII characters take one UTF-8 byte each, so equal lengths mean pure ASCII. The
  // native count is several times faster than a JavaScript loop on multi-kilobyte cookies.
  if (Buffer.byteLength(value, "utf8") === value.length) return value;

  return Buffer.from(value, "latin1").toString("utf8");
}

/** A message or scope that carries an ASGI header list, which may still be missing. */
export interface HeaderCarrier {
  type?: string;
  headers?: Headers;
}

/** RFC 9110 section 5.1: a field name is a token. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** RFC 9110 section 5.5: a field value has no CR, LF or NUL, and is latin-1 bytes here. */
const HEADER_VALUE = /^[^\r\n\0\u0100-\uffff]*$/;

/**
 * Litestar's `MutableScopeHeaders`: edits the header list of an outgoing message (or a scope)
 * in place, so a `send` wrapper can add or replace headers before passing the message on.
 * Names are stored lower-case; values are latin-1 strings, one character per byte.
 */
export class MutableScopeHeaders implements Iterable<[string, string]> {
  readonly headers: Headers;

  /** Wraps `carrier.headers`, creating an empty list on the carrier when it has none. */
  constructor(carrier: HeaderCarrier = {}) {
    carrier.headers ??= [];
    this.headers = carrier.headers;
  }

  /** Wraps the header list of `message`, as Litestar's `from_message`. */
  static fromMessage(message: HeaderCarrier): MutableScopeHeaders {
    return new MutableScopeHeaders(message);
  }

  get size(): number {
    return this.headers.length;
  }

  /**
   * Appends a header, keeping any existing ones of the same name.
   *
   * @throws TypeError when the name is not a token or the value contains CR, LF, NUL or a
   *   character above U+00FF.
   */
  add(name: string, value: string): void {
    this.headers.push([validateName(name), validateValue(name, value)]);
  }

  /** Returns the first value of `name`, or undefined when the header is absent. */
  get(name: string): string | undefined {
    const target = name.toLowerCase();

    for (const [headerName, value] of this.headers) {
      if (headerName.toLowerCase() === target) return value;
    }

    return undefined;
  }

  /** Returns every value of `name` in order; an empty array when there is none. */
  getAll(name: string): string[] {
    const target = name.toLowerCase();
    const values: string[] = [];

    for (const [headerName, value] of this.headers) {
      if (headerName.toLowerCase() === target) values.push(value);
    }

    return values;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Replaces every header of `name` with one, at the position of the first, or appends it. */
  set(name: string, value: string): void {
    const header: [string, string] = [validateName(name), validateValue(name, value)];
    const indices = this.findIndices(header[0]);

    if (indices.length === 0) {
      this.headers.push(header);
      return;
    }

    // Remove from the end, so the earlier indices stay valid.
    for (let i = indices.length - 1; i >= 1; i--) this.headers.splice(indices[i], 1);
    this.headers[indices[0]] = header;
  }

  /** Removes every header of `name`. */
  delete(name: string): void {
    const indices = this.findIndices(name.toLowerCase());

    for (let i = indices.length - 1; i >= 0; i--) this.headers.splice(indices[i], 1);
  }

  /**
   * Appends `value` to a comma-separated header such as `vary`, or adds the header when it is
   * absent. The result replaces every header of that name.
   */
  extendHeaderValue(name: string, value: string): void {
    const existing = this.get(name);
    this.set(name, existing === undefined || existing === "" ? value : `${existing},${value}`);
  }

  [Symbol.iterator](): Iterator<[string, string]> {
    return this.headers[Symbol.iterator]();
  }

  private findIndices(lowerName: string): number[] {
    const indices: number[] = [];

    for (let i = 0; i < this.headers.length; i++) {
      if (this.headers[i][0].toLowerCase() === lowerName) indices.push(i);
    }

    return indices;
  }
}

function validateName(name: string): string {
  if (!HEADER_NAME.test(name)) {
    throw new TypeError(
      `header name ${JSON.stringify(name)} is invalid: use a token of letters, digits and ` +
        "!#$%&'*+-.^_`|~",
    );
  }

  return name.toLowerCase();
}

function validateValue(name: string, value: string): string {
  if (typeof value !== "string" || !HEADER_VALUE.test(value)) {
    throw new TypeError(
      `value of header ${JSON.stringify(name)} is invalid: it must be a string without CR, ` +
        "LF or NUL, with characters up to U+00FF only (encode other text first)",
    );
  }

  return value;
}
