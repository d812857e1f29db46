import { latin1ToUtf8, RequestHeaders } from "../datastructures/headers";
import type { Headers } from "../types/asgi";
import { parseSetCookieHeader, type ParsedSetCookie } from "./cookie-jar";

/**
 * A response an app sent to `TestClient`, fully buffered. `headers` keeps every header field in
 * the order the app sent it, duplicates included, with lower-case names and latin-1 values.
 */
export class TestResponse {
  readonly status: number;
  readonly headers: RequestHeaders;
  readonly body: Buffer;
  readonly url: URL;
  /** Trailer fields, when the app sent `http.response.trailers`. */
  readonly trailers: RequestHeaders;

  constructor(status: number, headers: Headers, body: Buffer, url: URL, trailers: Headers = []) {
    this.status = status;
    this.headers = new RequestHeaders(lowerCaseNames(headers));
    this.body = body;
    this.url = url;
    this.trailers = new RequestHeaders(lowerCaseNames(trailers));
  }

  /** True for a 2xx status. */
  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  /** Decodes the body as UTF-8. */
  text(): string {
    return this.body.toString("utf8");
  }

  /**
   * Parses the body as JSON.
   *
   * @throws SyntaxError when the body is not JSON.
   */
  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }

  /** Every Set-Cookie header of this response, parsed, including clearing cookies. */
  get setCookies(): ParsedSetCookie[] {
    const cookies: ParsedSetCookie[] = [];

    for (const value of this.headers.getAll("set-cookie")) {
      const parsed = parseSetCookieHeader(latin1ToUtf8(value));
      if (parsed !== null) cookies.push(parsed);
    }

    return cookies;
  }

  /** Names and values this response set; a repeated name keeps its last value. */
  get cookies(): Record<string, string> {
    const values: Record<string, string> = {};

    for (const cookie of this.setCookies) values[cookie.name] = cookie.value;
    return values;
  }
}

function lowerCaseNames(headers: Headers): Headers {
  return headers.map(([name, value]) => [name.toLowerCase(), value]);
}
