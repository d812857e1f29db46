/**
 * Reads what a scope needs from a uWS `HttpRequest`, which is valid only during the synchronous
 * request or upgrade handler: everything here runs before the first `await`.
 *
 * ASGI wants the raw bytes of headers, path and query as latin-1 strings, but uWebSockets.js
 * 20.30 decodes them as UTF-8 in most places:
 * - `req.forEach` yields every header in order, with values decoded as UTF-8, where each
 *   invalid byte becomes U+FFFD;
 * - `req.getHeader(name)` returns the raw bytes as latin-1, but only the first occurrence;
 * - `req.getUrl()` and `req.getQuery()` return UTF-8-decoded text.
 * Text that is pure ASCII is the same under every decoding, so only non-ASCII text is
 * re-encoded. The uWS parser also drops bytes of 0x80 and above at either end of a header
 * value, before any of these calls can read them.
 */
import type { HttpRequest, HttpResponse } from "uWebSockets.js";

import type { Headers } from "../types/asgi";

/**
 * Returns true when `text` contains a character above U+007F. Counting its UTF-8 bytes is about
 * three times faster than a regular expression on a 4 KB cookie header.
 */
function hasNonAscii(text: string): boolean {
  return Buffer.byteLength(text, "utf8") !== text.length;
}

/** Returns the request headers in wire order, duplicates kept, values as latin-1 strings. */
export function readHeaders(req: HttpRequest): Headers {
  const reader = HEADER_READER;
  const headers: Headers = [];

  reader.request = req;
  reader.headers = headers;
  req.forEach(reader.collect);
  reader.request = null;
  reader.headers = NO_HEADERS;

  return headers;
}

const NO_HEADERS: Headers = [];

/**
 * One shared `forEach` callback for every request: `forEach` runs it synchronously, so the
 * fields can carry its target without allocating a closure per request.
 */
class HeaderReader {
  request: HttpRequest | null = null;
  headers: Headers = NO_HEADERS;

  readonly collect = (name: string, value: string): void => {
    const headers = this.headers;
    const raw = hasNonAscii(value) ? this.recoverRawValue(name, value) : value;
    headers.push([name, raw]);
  };

  private recoverRawValue(name: string, decoded: string): string {
    const headers = this.headers;

    for (let i = 0; i < headers.length; i++) {
      if (headers[i][0] === name) return utf8ToLatin1(decoded);
    }

    // getHeader() returns the first occurrence's raw bytes, which is this one.
    return this.request!.getHeader(name);
  }
}

const HEADER_READER = new HeaderReader();

/**
 * Re-encodes UTF-8-decoded text as the latin-1 string of its bytes.
 *
 * NOTE: exact only when the original bytes were valid UTF-8. uWS has already replaced each
 * invalid byte with U+FFFD, so such bytes come back as EF BF BD. This affects the path, the
 * query string and the second and later occurrences of a repeated header.
 */
export function utf8ToLatin1(text: string): string {
  return Buffer.from(text, "utf8").toString("latin1");
}

/** Returns `text` as the latin-1 string of its UTF-8 bytes; ASCII passes unchanged. */
export function rawBytesOf(text: string): string {
  return hasNonAscii(text) ? utf8ToLatin1(text) : text;
}

/**
 * Decodes `%XX` escapes in a latin-1 byte string and reads the bytes as UTF-8, as Python's
 * `urllib.parse.unquote` does: invalid escapes stay as they are, and invalid UTF-8 becomes
 * U+FFFD.
 */
export function percentDecode(raw: string): string {
  const bytes = Buffer.allocUnsafe(raw.length);
  let length = 0;

  for (let i = 0; i < raw.length; i++) {
    const code = raw.charCodeAt(i);

    if (code === 0x25 && i + 2 < raw.length) {
      const high = hexValue(raw.charCodeAt(i + 1));
      const low = hexValue(raw.charCodeAt(i + 2));

      if (high >= 0 && low >= 0) {
        bytes[length++] = high * 16 + low;
        i += 2;
        continue;
      }
    }

    bytes[length++] = code;
  }

  return bytes.toString("utf8", 0, length);
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}

/**
 * Returns the percent-decoded path of a request, from `url` as `req.getUrl()` returned it and
 * `rawPath`, the latin-1 string of its bytes.
 */
export function decodePath(url: string, rawPath: string): string {
  // getUrl() already decoded UTF-8, which is all the decoding a path without escapes needs.
  return url.includes("%") ? percentDecode(rawPath) : url;
}

/** Returns the client's IP address as text, such as "127.0.0.1". */
export function remoteAddress(res: HttpResponse): string {
  return Buffer.from(res.getRemoteAddressAsText()).toString("latin1");
}

/** Splits a `sec-websocket-protocol` header into the subprotocols it lists. */
export function parseSubprotocols(headers: Headers): string[] {
  const subprotocols: string[] = [];

  for (const [name, value] of headers) {
    if (name !== "sec-websocket-protocol") continue;

    for (const item of value.split(",")) {
      const subprotocol = item.trim();
      if (subprotocol.length > 0) subprotocols.push(subprotocol);
    }
  }

  return subprotocols;
}
