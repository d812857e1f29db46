import { Cookie, type CookieOptions } from "../datastructures/cookie";
import { MutableScopeHeaders } from "../datastructures/headers";
import { ImproperlyConfiguredException } from "../exceptions";
import type { Headers, Send } from "../types/asgi";

export interface ResponseInit {
  /** HTTP status code; default 200. */
  status?: number;
  /** Response headers, as an ASGI header list or an object of name to value. */
  headers?: Headers | Record<string, string>;
  /** Cookies to set, each sent in its own `Set-Cookie` header. */
  cookies?: readonly (Cookie | CookieOptions)[];
  /**
   * The `content-type`. Default: `text/plain; charset=utf-8` for a string,
   * `application/octet-stream` for bytes, none for null, and `application/json` otherwise.
   */
  mediaType?: string | null;
}

/** A route handler's return value: a `Response`, or content that becomes one. */
export type ResponseLike =
  Response | string | Uint8Array | null | undefined | object | number | boolean;

const EMPTY_BODY = new Uint8Array(0);

/** Statuses that RFC 9110 (sections 15.2, 15.3.5 and 15.4.5) sends without content. */
const BODILESS_STATUSES = new Set([204, 304]);

/**
 * Litestar's `Response`: content with a status, headers and cookies. Strings are sent as
 * UTF-8, bytes as they are, and other values as JSON; under a JSON media type a string is
 * JSON-encoded too, as Litestar does.
 */
export class Response<T = unknown> {
  readonly content: T;
  readonly status: number;
  readonly headers: MutableScopeHeaders;
  readonly cookies: Cookie[];
  readonly mediaType: string | null;

  /**
   * @throws TypeError when the status is not an integer from 100 to 599, or a header name or
   *   value is invalid.
   * @throws ImproperlyConfiguredException when a cookie is invalid.
   */
  constructor(content: T, init: ResponseInit = {}) {
    this.content = content;
    this.status = validateStatus(init.status ?? 200);
    this.headers = new MutableScopeHeaders({ headers: [] });
    this.cookies = (init.cookies ?? []).map(toCookie);
    this.mediaType = init.mediaType !== undefined ? init.mediaType : defaultMediaType(content);

    for (const [name, value] of headerEntries(init.headers)) this.headers.add(name, value);
  }

  /** Creates a `text/plain; charset=utf-8` response. */
  static text(text: string, init: Omit<ResponseInit, "mediaType"> = {}): Response<string> {
    return new Response(text, { ...init, mediaType: "text/plain; charset=utf-8" });
  }

  /** Creates an `application/json` response from any JSON-serializable value. */
  static json<V>(value: V, init: Omit<ResponseInit, "mediaType"> = {}): Response<V> {
    return new Response(value, { ...init, mediaType: "application/json" });
  }

  /** Adds a cookie to set; a cookie with the same key, path and domain is replaced. */
  setCookie(cookie: Cookie | CookieOptions): this {
    const added = toCookie(cookie);
    const index = this.cookies.findIndex((existing) => existing.equals(added));

    if (index === -1) this.cookies.push(added);
    else this.cookies[index] = added;

    return this;
  }

  /** Sets a cookie that makes the browser delete `key` for the given path and domain. */
  deleteCookie(key: string, options: { path?: string; domain?: string | null } = {}): this {
    return this.setCookie({ key, value: "", ...options, maxAge: 0, expires: 0 });
  }

  /**
   * Encodes the content as bytes.
   *
   * @throws TypeError when the content cannot be encoded under the media type, or a status
   *   without content (204, 304, 1xx) has some.
   */
  renderBody(): Uint8Array {
    const body = encodeContent(this.content, this.mediaType);

    if (body.byteLength > 0 && (BODILESS_STATUSES.has(this.status) || this.status < 200)) {
      throw new TypeError(
        `a ${this.status} response cannot have content; return null or choose another status`,
      );
    }

    return body;
  }

  /** Returns the header list to send with a body of `bodyLength` bytes. */
  renderHeaders(bodyLength: number): Headers {
    const headers: Headers = [...this.headers.headers];
    const list = new MutableScopeHeaders({ headers });

    if (this.mediaType !== null && !list.has("content-type")) {
      list.add("content-type", withCharset(this.mediaType));
    }

    if (!BODILESS_STATUSES.has(this.status) && this.status >= 200) {
      list.set("content-length", String(bodyLength));
    }

    for (const cookie of this.cookies) headers.push(cookie.toHeader());
    return headers;
  }

  /**
   * Sends the response as `http.response.start` and one `http.response.body`. With `head`,
   * the headers describe the full body but no body is sent, as for a HEAD request.
   */
  async send(send: Send, options: { head?: boolean } = {}): Promise<void> {
    await sendRenderedResponse(send, this, this.renderBody(), options.head ?? false);
  }
}

/** Sends `response` with a body that `renderBody()` already produced. */
export async function sendRenderedResponse(
  send: Send,
  response: Response,
  body: Uint8Array,
  head: boolean,
): Promise<void> {
  await send({
    type: "http.response.start",
    status: response.status,
    headers: response.renderHeaders(body.byteLength),
  });
  await send({ type: "http.response.body", body: head ? EMPTY_BODY : body });
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Characters of a `location` that are neither RFC 3986 reserved or unreserved nor "%". */
const LOCATION_UNSAFE = /[^A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]/gu;

/**
 * Litestar's `Redirect`: a response with no content and a `location` header. The status is
 * 302 by default; 301, 303, 307 and 308 are accepted too.
 */
export class Redirect extends Response<null> {
  readonly location: string;

  /** @throws ImproperlyConfiguredException when the status is not a redirect status. */
  constructor(location: string, init: Omit<ResponseInit, "mediaType"> = {}) {
    const status = init.status ?? 302;

    if (!REDIRECT_STATUSES.has(status)) {
      throw new ImproperlyConfiguredException(
        `Redirect status must be 301, 302, 303, 307 or 308, got ${String(status)}`,
      );
    }

    super(null, { ...init, status, mediaType: null });
    this.location = encodeLocation(location);
    this.headers.set("location", this.location);
  }
}

/** Turns a handler's return value into a `Response`; `status` applies to plain content only. */
export function toResponse(value: ResponseLike, status: number, mediaType?: string): Response {
  if (value instanceof Response) return value;

  return new Response(value, mediaType === undefined ? { status } : { status, mediaType });
}

function toCookie(cookie: Cookie | CookieOptions): Cookie {
  return cookie instanceof Cookie ? cookie : new Cookie(cookie);
}

function headerEntries(headers: ResponseInit["headers"]): Iterable<[string, string]> {
  if (headers === undefined) return [];
  return Array.isArray(headers) ? headers : Object.entries(headers);
}

function defaultMediaType(content: unknown): string | null {
  if (content == null) return null;
  if (typeof content === "string") return "text/plain; charset=utf-8";
  if (content instanceof Uint8Array) return "application/octet-stream";

  return "application/json";
}

function isJsonMediaType(mediaType: string | null): boolean {
  return mediaType !== null && /[/+]json\b/i.test(mediaType);
}

function withCharset(mediaType: string): string {
  if (!mediaType.toLowerCase().startsWith("text/") || /;\s*charset=/i.test(mediaType)) {
    return mediaType;
  }

  return `${mediaType}; charset=utf-8`;
}

function encodeContent(content: unknown, mediaType: string | null): Uint8Array {
  if (content == null) return EMPTY_BODY;
  if (content instanceof Uint8Array) return content;

  if (isJsonMediaType(mediaType)) {
    const json = JSON.stringify(content);
    if (json === undefined) throw new TypeError(`cannot encode a ${typeof content} as JSON`);
    return Buffer.from(json, "utf8");
  }

  if (typeof content === "string") return Buffer.from(content, "utf8");

  throw new TypeError(
    `cannot encode a ${typeof content} as ${String(mediaType)}; pass a string or bytes, or ` +
      "use a JSON media type",
  );
}

function validateStatus(status: number): number {
  if (!Number.isInteger(status) || status < 100 || status > 599) {
    throw new TypeError(`response status must be an integer from 100 to 599, got ${status}`);
  }

  return status;
}

function encodeLocation(location: string): string {
  if (typeof location !== "string" || location === "") {
    throw new ImproperlyConfiguredException(
      `Redirect location must be a non-empty URL or path, got ${JSON.stringify(location)}`,
    );
  }

  return location.replace(LOCATION_UNSAFE, percentEncode);
}

/** Percent-encodes the UTF-8 bytes of `char`; a lone surrogate becomes U+FFFD. */
function percentEncode(char: string): string {
  let encoded = "";
  for (const byte of Buffer.from(char, "utf8")) {
    encoded += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return encoded;
}
