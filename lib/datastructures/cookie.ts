import { ImproperlyConfiguredException } from "../exceptions";
import type { Header } from "../types/asgi";

export type CookieSameSite = "lax" | "strict" | "none";

export interface CookieOptions {
  /** Cookie name: an RFC 7230 token. */
  key: string;
  /** Cookie value made of RFC 6265 cookie-octets; empty when omitted. */
  value?: string | null;
  /** Path attribute; default `/`. */
  path?: string;
  /** Domain attribute; none by default, so the cookie is host-only. */
  domain?: string | null;
  /** Max-Age attribute in whole seconds; 0 or less expires the cookie at once. */
  maxAge?: number | null;
  /**
   * Expires attribute: a `Date`, or a Unix time in seconds (not seconds from now, as in
   * Litestar), so `expires: 0` dates the cookie to 1970 and clears it either way.
   */
  expires?: Date | number | null;
  secure?: boolean;
  httpOnly?: boolean;
  /** SameSite attribute; default `lax`. */
  sameSite?: CookieSameSite | "Lax" | "Strict" | "None";
  /** Partitioned attribute (CHIPS); browsers require `secure` with it. */
  partitioned?: boolean;
}

/** RFC 6265 section 4.1.1: cookie-name is an RFC 7230 token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * RFC 6265 section 4.1.1: cookie-value = *cookie-octet / ( DQUOTE *cookie-octet DQUOTE ), where
 * cookie-octet is US-ASCII without controls, whitespace, DQUOTE, comma, semicolon and backslash.
 */
const COOKIE_VALUE =
  /^(?:[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*|"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*")$/;

/** RFC 6265 section 4.1.1: av-octet is any CHAR except controls and ";". */
const ATTRIBUTE_VALUE = /^[\x20-\x3a\x3c-\x7e]*$/;

/**
 * RFC 6265 section 4.1.1 domain-value, as the RFC 1034 section 3.5 preferred name syntax with
 * RFC 1123 section 2.1 allowing a leading digit: dot-separated labels of letters, digits and
 * inner hyphens, each of at most 63 characters. A leading dot is allowed, because user agents
 * remove it (RFC 6265 section 5.2.3).
 */
const DOMAIN_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const DOMAIN_VALUE = new RegExp(`^\\.?${DOMAIN_LABEL}(?:\\.${DOMAIN_LABEL})*$`);

/** RFC 1034 section 3.1: a domain name is at most 255 octets, so at most 253 characters. */
const MAX_DOMAIN_LENGTH = 253;

/**
 * Largest Max-Age accepted, in seconds: 100 years of 365.25 days. Browsers keep a cookie for
 * at most 400 days anyway, because draft-ietf-httpbis-rfc6265bis ("The Max-Age Attribute")
 * has them reduce longer lifetimes to that, and Chrome does. Longer values are still accepted
 * because Litestar accepts them, and its configs use 20 years to mean "does not expire". A
 * session lifetime above 400 days then only sets the session's own expiry. The bound rejects
 * values that would render in exponent notation (`1e+21`) or overflow a `Date`.
 */
export const MAX_COOKIE_MAX_AGE = 36525 * 24 * 60 * 60;

/** Returns true for a Domain attribute value of RFC 1034 host name syntax, in ASCII. */
export function isValidCookieDomain(domain: unknown): domain is string {
  return (
    typeof domain === "string" &&
    // One more character for the optional leading dot.
    domain.length <= MAX_DOMAIN_LENGTH + 1 &&
    DOMAIN_VALUE.test(domain)
  );
}

/** Returns true for a Path attribute value: printable ASCII without ";", starting with "/". */
export function isValidCookiePath(path: unknown): path is string {
  return typeof path === "string" && path.startsWith("/") && ATTRIBUTE_VALUE.test(path);
}

/**
 * Litestar's `Cookie`: one cookie for a `Set-Cookie` response header. Every field is validated
 * at construction, so rendering never fails. Cookies compare equal by key, path and domain,
 * as browsers store them.
 */
export class Cookie {
  readonly key: string;
  readonly value: string;
  readonly path: string;
  readonly domain: string | null;
  readonly maxAge: number | null;
  readonly expires: Date | null;
  readonly secure: boolean;
  readonly httpOnly: boolean;
  readonly sameSite: CookieSameSite;
  readonly partitioned: boolean;

  /** @throws ImproperlyConfiguredException naming the invalid field and how to fix it. */
  constructor(options: CookieOptions) {
    this.key = validateKey(options.key);
    this.value = validateValue(this.key, options.value ?? "");
    this.path = validatePath(this.key, options.path ?? "/");
    this.domain = options.domain == null ? null : validateDomain(this.key, options.domain);
    this.maxAge = options.maxAge == null ? null : validateMaxAge(this.key, options.maxAge);
    this.expires = options.expires == null ? null : toExpiryDate(this.key, options.expires);
    this.secure = options.secure ?? false;
    this.httpOnly = options.httpOnly ?? false;
    this.sameSite = validateSameSite(this.key, options.sameSite ?? "lax");
    this.partitioned = options.partitioned ?? false;
    Object.freeze(this);
  }

  /** Renders the `Set-Cookie` header value: `name=value`, then the attributes. */
  toHeaderValue(): string {
    let header = `${this.key}=${this.value}`;

    if (this.domain !== null) header += `; Domain=${this.domain}`;
    header += `; Path=${this.path}`;
    if (this.maxAge !== null) header += `; Max-Age=${this.maxAge}`;
    if (this.expires !== null) header += `; Expires=${this.expires.toUTCString()}`;
    if (this.secure) header += "; Secure";
    if (this.httpOnly) header += "; HttpOnly";
    header += `; SameSite=${SAME_SITE_NAMES[this.sameSite]}`;
    if (this.partitioned) header += "; Partitioned";

    return header;
  }

  /** Returns the cookie as an ASGI header, ready for a response's header list. */
  toHeader(): Header {
    return ["set-cookie", this.toHeaderValue()];
  }

  /** Returns true when `other` is a cookie with the same key, path and domain. */
  equals(other: unknown): boolean {
    return (
      other instanceof Cookie &&
      other.key === this.key &&
      other.path === this.path &&
      other.domain === this.domain
    );
  }
}

const SAME_SITE_NAMES: Record<CookieSameSite, string> = {
  lax: "Lax",
  strict: "Strict",
  none: "None",
};

function validateKey(key: unknown): string {
  if (typeof key !== "string" || !TOKEN.test(key)) {
    throw new ImproperlyConfiguredException(
      `Cookie key ${JSON.stringify(key)} is not a valid cookie name: use a non-empty token of ` +
        "letters, digits and !#$%&'*+-.^_`|~, with no spaces, quotes or separators",
    );
  }

  return key;
}

function validateValue(key: string, value: unknown): string {
  if (typeof value !== "string" || !COOKIE_VALUE.test(value)) {
    throw new ImproperlyConfiguredException(
      `Cookie ${key}: value is not a valid cookie value; it must be ASCII without spaces, ` +
        'controls, \'"\', ",", ";" or "\\", so encode it first (for example with ' +
        "encodeURIComponent or base64url)",
    );
  }

  return value;
}

function validatePath(key: string, path: unknown): string {
  if (!isValidCookiePath(path)) {
    throw new ImproperlyConfiguredException(
      `Cookie ${key}: path ${JSON.stringify(path)} is invalid; it must start with "/" and be ` +
        'printable ASCII without ";", so percent-encode other characters',
    );
  }

  return path;
}

function validateDomain(key: string, domain: unknown): string {
  if (!isValidCookieDomain(domain)) {
    throw new ImproperlyConfiguredException(
      `Cookie ${key}: domain ${JSON.stringify(domain)} is invalid; give an ASCII host name ` +
        'such as "example.com" (punycode for international names), or omit it for a ' +
        "host-only cookie",
    );
  }

  return domain;
}

function validateMaxAge(key: string, maxAge: unknown): number {
  if (!Number.isSafeInteger(maxAge) || (maxAge as number) > MAX_COOKIE_MAX_AGE) {
    throw new ImproperlyConfiguredException(
      `Cookie ${key}: maxAge must be a whole number of seconds of at most ${MAX_COOKIE_MAX_AGE} ` +
        `(100 years; browsers keep a cookie for at most 400 days), got ${String(maxAge)}`,
    );
  }

  return maxAge as number;
}

function toExpiryDate(key: string, expires: unknown): Date {
  const date =
    expires instanceof Date
      ? new Date(expires.getTime())
      : typeof expires === "number"
        ? new Date(expires * 1000)
        : null;

  // IMF-fixdate (RFC 9110 section 5.6.7) has a four-digit year.
  const year = date === null ? NaN : date.getUTCFullYear();
  if (date === null || !(year >= 0 && year <= 9999)) {
    throw new ImproperlyConfiguredException(
      `Cookie ${key}: expires must be a valid Date or a Unix time in seconds, in the years ` +
        `0000 to 9999, got ${String(expires)}`,
    );
  }

  return date;
}

function validateSameSite(key: string, sameSite: unknown): CookieSameSite {
  const normalized = typeof sameSite === "string" ? sameSite.toLowerCase() : sameSite;

  if (normalized !== "lax" && normalized !== "strict" && normalized !== "none") {
    throw new ImproperlyConfiguredException(
      `Cookie ${key}: sameSite must be "lax", "strict" or "none", got ${JSON.stringify(sameSite)}`,
    );
  }

  return normalized;
}
