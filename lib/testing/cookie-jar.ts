/** One Set-Cookie header field, parsed as RFC 6265 section 5.2 describes. */
export interface ParsedSetCookie {
  name: string;
  value: string;
  /** Seconds; 0 or less expires the cookie at once. */
  maxAge?: number;
  expires?: Date;
  /** Lower-case, without a leading dot. */
  domain?: string;
  path?: string;
  secure: boolean;
  httpOnly: boolean;
  sameSite?: string;
}

/** A cookie held by a `CookieJar`. */
export interface JarCookie {
  name: string;
  value: string;
  /** Lower-case host or domain; null matches every host (cookies set by hand). */
  domain: string | null;
  /** True when the cookie goes back to exactly the host that set it. */
  hostOnly: boolean;
  path: string;
  /** Milliseconds since the epoch; null for a cookie that lasts as long as the jar. */
  expiresAt: number | null;
  secure: boolean;
  httpOnly: boolean;
  sameSite: string | null;
  /** Milliseconds since the epoch; orders cookies with equal paths. */
  createdAt: number;
}

export interface CookieJarOptions {
  /** Clock in milliseconds since the epoch, used for every expiry decision. Default `Date.now`. */
  now?: () => number;
  /**
   * Host that cookies set by hand belong to, as host-only cookies, so a server's Set-Cookie of
   * the same name and path replaces them. Default none: they match every host.
   */
  defaultDomain?: string;
}

export interface SetCookieOptions {
  /** A domain that also matches its subdomains. Default: the jar's `defaultDomain`. */
  domain?: string;
  /** Default `/`. */
  path?: string;
  /** Seconds until the cookie expires. Default: it lasts as long as the jar. */
  maxAge?: number;
  secure?: boolean;
}

/**
 * Parses one Set-Cookie value. Returns null for a value without "=" or with an empty name,
 * which RFC 6265 section 5.2 requires ignoring. Invalid attributes are skipped, never thrown.
 */
export function parseSetCookieHeader(header: string): ParsedSetCookie | null {
  const [pair, ...attributes] = header.split(";");
  const separator = pair.indexOf("=");
  if (separator === -1) return null;

  const name = pair.slice(0, separator).trim();
  if (name === "") return null;

  const cookie: ParsedSetCookie = {
    name,
    value: pair.slice(separator + 1).trim(),
    secure: false,
    httpOnly: false,
  };

  for (const attribute of attributes) applyAttribute(cookie, attribute);
  return cookie;
}

function applyAttribute(cookie: ParsedSetCookie, attribute: string): void {
  const separator = attribute.indexOf("=");
  const key = (separator === -1 ? attribute : attribute.slice(0, separator)).trim().toLowerCase();
  const value = separator === -1 ? "" : attribute.slice(separator + 1).trim();

  switch (key) {
    case "max-age":
      // RFC 6265 section 5.2.2: an optional "-" then digits; anything else is ignored.
      if (/^-?\d+$/.test(value)) cookie.maxAge = Number(value);
      return;
    case "expires": {
      const time = Date.parse(value);
      if (!Number.isNaN(time)) cookie.expires = new Date(time);
      return;
    }
    case "domain":
      if (value !== "") cookie.domain = value.replace(/^\./, "").toLowerCase();
      return;
    case "path":
      if (value.startsWith("/")) cookie.path = value;
      return;
    case "secure":
      cookie.secure = true;
      return;
    case "httponly":
      cookie.httpOnly = true;
      return;
    case "samesite":
      cookie.sameSite = value.toLowerCase();
      return;
  }
}

/**
 * A cookie store for one test client, following the storage model of RFC 6265 section 5.3 and
 * the sending rules of section 5.4. Max-Age wins over Expires, and a past expiry deletes the
 * cookie. Domain and Path scope a cookie, and Secure cookies go only to https and wss URLs.
 *
 * NOTE: unlike current browsers, it keeps Secure cookies that an http response sets (as RFC 6265
 * allows), so a test can inspect them; it still never sends them over http.
 */
export class CookieJar {
  private readonly now: () => number;
  private readonly defaultDomain: string | null;
  private cookies: JarCookie[] = [];

  constructor(options: CookieJarOptions = {}) {
    this.now = options.now ?? Date.now;
    this.defaultDomain = options.defaultDomain?.toLowerCase() ?? null;
  }

  /** Applies the Set-Cookie headers of a response received from `url`. */
  storeResponseCookies(setCookieHeaders: Iterable<string>, url: URL | string): void {
    const requestUrl = typeof url === "string" ? new URL(url) : url;

    for (const header of setCookieHeaders) {
      const parsed = parseSetCookieHeader(header);
      if (parsed !== null) this.storeParsed(parsed, requestUrl);
    }
  }

  /** Stores a cookie by hand, as if the server had set it. */
  set(name: string, value: string, options: SetCookieOptions = {}): void {
    const expiresAt = options.maxAge === undefined ? null : this.now() + options.maxAge * 1000;
    const domain = options.domain?.replace(/^\./, "").toLowerCase();

    this.put({
      name,
      value,
      domain: domain ?? this.defaultDomain,
      hostOnly: domain === undefined && this.defaultDomain !== null,
      path: options.path ?? "/",
      expiresAt,
      secure: options.secure ?? false,
      httpOnly: false,
      sameSite: null,
      createdAt: this.now(),
    });
  }

  /**
   * Returns the value of the cookie `name`; with `url`, only a cookie that would be sent there.
   * When several match, the one sent first (longest path) wins.
   */
  get(name: string, url?: URL | string): string | undefined {
    const candidates = url === undefined ? this.list() : this.cookiesFor(url);
    return candidates.find((cookie) => cookie.name === name)?.value;
  }

  /** Deletes every cookie named `name`, or only those with the given domain and path. */
  delete(name: string, options: { domain?: string; path?: string } = {}): void {
    this.cookies = this.cookies.filter(
      (cookie) =>
        cookie.name !== name ||
        (options.path !== undefined && cookie.path !== options.path) ||
        (options.domain !== undefined && cookie.domain !== options.domain.toLowerCase()),
    );
  }

  clear(): void {
    this.cookies = [];
  }

  /** Returns the cookies that have not expired, in the order they would be sent. */
  list(): JarCookie[] {
    this.dropExpired();
    return sortForSending(this.cookies).map((cookie) => ({ ...cookie }));
  }

  /** Returns the names and values of the live cookies; for a repeated name, the first sent. */
  toObject(): Record<string, string> {
    const values: Record<string, string> = {};

    for (const cookie of this.list()) {
      if (!(cookie.name in values)) values[cookie.name] = cookie.value;
    }

    return values;
  }

  get size(): number {
    return this.list().length;
  }

  /** Returns the cookies a browser would send to `url`, in sending order. */
  cookiesFor(url: URL | string): JarCookie[] {
    const target = typeof url === "string" ? new URL(url) : url;
    const host = target.hostname.toLowerCase();
    const secureScheme = target.protocol === "https:" || target.protocol === "wss:";

    return this.list().filter((cookie) => {
      if (cookie.secure && !secureScheme) return false;
      if (!matchesDomain(cookie, host)) return false;

      return matchesPath(target.pathname, cookie.path);
    });
  }

  /** Returns the Cookie header value for a request to `url`, or "" when no cookie applies. */
  cookieHeader(url: URL | string): string {
    return this.cookiesFor(url)
      .map((cookie) => `${cookie.name}=${cookie.value}`)
      .join("; ");
  }

  private storeParsed(parsed: ParsedSetCookie, url: URL): void {
    const host = url.hostname.toLowerCase();

    // Section 5.3, step 6: a Domain the request host is not within rejects the whole cookie.
    if (parsed.domain !== undefined && !domainMatches(host, parsed.domain)) return;

    this.put({
      name: parsed.name,
      value: parsed.value,
      domain: parsed.domain ?? host,
      hostOnly: parsed.domain === undefined,
      path: parsed.path ?? defaultPath(url.pathname),
      expiresAt: this.expiryOf(parsed),
      secure: parsed.secure,
      httpOnly: parsed.httpOnly,
      sameSite: parsed.sameSite ?? null,
      createdAt: this.now(),
    });
  }

  private expiryOf(parsed: ParsedSetCookie): number | null {
    if (parsed.maxAge !== undefined) {
      return parsed.maxAge <= 0 ? 0 : this.now() + parsed.maxAge * 1000;
    }

    return parsed.expires === undefined ? null : parsed.expires.getTime();
  }

  /** Replaces the cookie with the same name, domain and path, keeping its creation time. */
  private put(cookie: JarCookie): void {
    const index = this.cookies.findIndex(
      (existing) =>
        existing.name === cookie.name &&
        existing.domain === cookie.domain &&
        existing.path === cookie.path,
    );

    if (index !== -1) {
      cookie.createdAt = this.cookies[index].createdAt;
      this.cookies.splice(index, 1);
    }

    // An expiry in the past is how a server deletes a cookie.
    if (cookie.expiresAt !== null && cookie.expiresAt <= this.now()) return;
    this.cookies.push(cookie);
  }

  private dropExpired(): void {
    const now = this.now();
    this.cookies = this.cookies.filter(
      (cookie) => cookie.expiresAt === null || cookie.expiresAt > now,
    );
  }
}

/** Section 5.4, step 2: longer paths first, then older cookies first. */
function sortForSending(cookies: JarCookie[]): JarCookie[] {
  return [...cookies].sort((a, b) => b.path.length - a.path.length || a.createdAt - b.createdAt);
}

function matchesDomain(cookie: JarCookie, host: string): boolean {
  if (cookie.domain === null) return true;
  if (cookie.hostOnly) return host === cookie.domain;

  return domainMatches(host, cookie.domain);
}

/** Section 5.1.3: the host is the domain or a subdomain of it, and not an IP address. */
function domainMatches(host: string, domain: string): boolean {
  if (host === domain) return true;

  const isIpAddress = /^[\d.]+$/.test(host) || host.includes(":") || host.startsWith("[");
  return !isIpAddress && host.endsWith(`.${domain}`);
}

/** Section 5.1.4: the request path up to, but not including, its last "/". */
function defaultPath(requestPath: string): string {
  if (!requestPath.startsWith("/")) return "/";

  const lastSlash = requestPath.lastIndexOf("/");
  return lastSlash === 0 ? "/" : requestPath.slice(0, lastSlash);
}

/** Section 5.1.4: the cookie path is the request path or a "/"-bounded prefix of it. */
function matchesPath(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;

  return cookiePath.endsWith("/") || requestPath[cookiePath.length] === "/";
}
