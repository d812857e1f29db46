import { parse } from "cookie";

/**
 * Parses `cookie` request headers into a name-to-value map, following RFC 6265 section 5.4 as
 * browsers send it. The map has no prototype, so names such as `constructor` or `__proto__`
 * are found only when the request sent them. Never throws:
 * - several `cookie` header fields are joined with "; " (HTTP/2 splits them);
 * - a pair without "=" or with an empty name is skipped without hiding its neighbours;
 * - surrounding double quotes are removed, and backslash escapes inside them decoded (Python's
 *   `SimpleCookie`, and so Litestar, quotes values containing "/", "=" or ",");
 * - percent escapes are decoded as UTF-8; a bad escape keeps the raw value;
 * - "+" stays "+", because cookies are not form-encoded;
 * - for a duplicated name the first occurrence wins, because browsers send the cookie with
 *   the longest matching Path first (RFC 6265 section 5.4, step 2).
 *
 * Splitting is done by jshttp's `cookie` package; the value decoding is ours, because
 * `cookie` 1.x no longer strips quotes.
 */
export function parseCookieHeader(header: string | readonly string[]): Record<string, string> {
  const joined = typeof header === "string" ? header : header.join("; ");
  const cookies: Record<string, string> = Object.create(null);
  if (joined === "") return cookies;

  const parsed = parse(joined, PARSE_OPTIONS);

  for (const name in parsed) {
    const value = parsed[name];
    if (name === "" || value === undefined) continue;

    cookies[name] = value;
  }

  return cookies;
}

/**
 * Python's `SimpleCookie` (and so Litestar) writes `"`, `\`, `,`, `;`, controls and non-ASCII
 * characters inside a quoted value as `\"`, `\\` or a three-digit octal code point.
 */
const BACKSLASH_ESCAPE = /\\(?:([0-3][0-7]{2})|(.))/g;

const PARSE_OPTIONS = { decode: decodeCookieValue };

function decodeCookieValue(raw: string): string {
  const quoted =
    raw.length >= 2 && raw.charCodeAt(0) === 0x22 && raw.charCodeAt(raw.length - 1) === 0x22;
  let value = quoted ? raw.slice(1, -1) : raw;

  if (quoted && value.includes("\\")) value = value.replace(BACKSLASH_ESCAPE, unescapeChar);
  if (!value.includes("%")) return value;

  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function unescapeChar(_match: string, octal: string | undefined, char: string | undefined): string {
  return octal !== undefined ? String.fromCharCode(parseInt(octal, 8)) : (char as string);
}
