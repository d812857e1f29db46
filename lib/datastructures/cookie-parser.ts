import { parse } from "cookie";

/**
 * Parses `cookie` request headers into a name-to-value map, following RFC 6265 section 5.4 as
 * browsers send it. Never throws:
 * - several `cookie` header fields are joined with "; " (HTTP/2 splits them);
 * - a pair without "=" or with an empty name is skipped without hiding its neighbours;
 * - surrounding double quotes are removed (Python's `SimpleCookie`, and so Litestar, quotes
 *   values containing "/", "+" or "=");
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
  const parsed = parse(joined, { decode: decodeCookieValue });
  const cookies: Record<string, string> = {};

  for (const name in parsed) {
    const value = parsed[name];
    if (name === "" || value === undefined) continue;

    cookies[name] = value;
  }

  return cookies;
}

function decodeCookieValue(raw: string): string {
  const unquoted =
    raw.length >= 2 && raw.charCodeAt(0) === 0x22 && raw.charCodeAt(raw.length - 1) === 0x22
      ? raw.slice(1, -1)
      : raw;

  if (!unquoted.includes("%")) return unquoted;

  try {
    return decodeURIComponent(unquoted);
  } catch {
    return unquoted;
  }
}
