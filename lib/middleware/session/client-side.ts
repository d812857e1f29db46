import {
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  randomFillSync,
  type CipherGCMTypes,
  type KeyObject,
} from "node:crypto";

import type { ASGIConnection, SessionData } from "../../connection/base";
import { getConnectionState } from "../../connection/state";
import { ImproperlyConfiguredException, SessionTooLargeError } from "../../exceptions";
import type { Scope } from "../../types/asgi";
import {
  BaseBackendConfig,
  BaseSessionBackend,
  isEmptySession,
  type BaseBackendOptions,
  type SessionCarrierMessage,
} from "./base";

/** Bytes of the random AES-GCM nonce at the start of every cookie, as Litestar writes it. */
export const NONCE_SIZE = 12;

/** Bytes of the GCM authentication tag that follows the ciphertext. */
export const TAG_SIZE = 16;

/** Litestar's chunk size: 4096 minus 64 characters of base64 per cookie. */
export const CHUNK_SIZE = 4032;

/**
 * RFC 6265 section 6.1: browsers should keep cookies of at least 4096 bytes, counting name,
 * value and attributes. Larger ones are not guaranteed to be kept, so no Set-Cookie value here
 * exceeds this.
 */
export const MAX_COOKIE_BYTES = 4096;

/** ASCII marker between the ciphertext and the associated data, as Litestar writes it. */
export const AAD_MARKER = "additional_authenticated_data=";

/**
 * Default limit of cookies per session. Three full chunks make a `cookie` request header of
 * about 12 KB, which leaves room for other headers in a 16 KB header block: the default limit
 * of Node's HTTP server, and a common proxy limit (8 to 16 KB). Browsers keep at least 50
 * cookies per domain (RFC 6265 section 6.1), so the count itself is not the constraint.
 */
export const DEFAULT_MAX_CHUNKS = 3;

/**
 * Chunk counts above this could be evicted by a browser keeping only 50 cookies per domain.
 * It is also the most chunks a request may carry: reading accepts sessions written with a
 * larger `maxChunks` or by Litestar, which has no limit, while `maxChunks` bounds writes.
 */
const MAX_CHUNKS_LIMIT = 50;

/** Below this many base64 characters per chunk, the cookie attributes crowd out the data. */
const MIN_CHUNK_LENGTH = 1024;

/** Nonces drawn from the operating system at once; each 12-byte slice is used exactly once. */
const NONCE_POOL_SIZE = NONCE_SIZE * 1024;

const EXPIRES_IN_PAST = "Thu, 01 Jan 1970 00:00:00 GMT";

const MARKER_BYTES = Buffer.from(AAD_MARKER, "latin1");

/** Smallest decoded cookie: nonce, tag, marker and `{"expires_at":0}`. */
const MIN_DECODED_LENGTH = NONCE_SIZE + TAG_SIZE + MARKER_BYTES.length + 16;

/** A chunk cookie's number: canonical decimal, so `key-01` is not taken for `key-1`. */
const CHUNK_NUMBER = /^(?:0|[1-9][0-9]{0,3})$/;

/** The associated data exactly as this backend and Litestar write it, read without JSON.parse. */
const WRITTEN_AAD = /^\{"expires_at":(\d{1,15})\}$/;

const ALGORITHMS: Record<number, CipherGCMTypes> = {
  16: "aes-128-gcm",
  24: "aes-192-gcm",
  32: "aes-256-gcm",
};

/** Options of `CookieBackendConfig`. */
export interface CookieBackendOptions extends BaseBackendOptions {
  /**
   * AES key of 16, 24 or 32 bytes (AES-128, -192 or -256). A list rotates keys: the first
   * encrypts, every one decrypts, and a cookie read with a later one is re-issued under the
   * first.
   */
  secret: Uint8Array | readonly Uint8Array[];
  /**
   * Limit of cookies one session may be written to; larger sessions fail to be stored.
   * Default 3. Reading accepts up to 50 chunks, so Litestar's larger sessions still load.
   */
  maxChunks?: number;
}

/**
 * Litestar's `CookieBackendConfig`: sessions stored in the client's cookies, encrypted and
 * authenticated with AES-GCM.
 */
export class CookieBackendConfig extends BaseBackendConfig<ClientSideSessionBackend> {
  /** The secrets as key objects, the encrypting one first; the raw bytes are not kept. */
  readonly secretKeys: readonly KeyObject[];
  readonly maxChunks: number;

  constructor(options: CookieBackendOptions) {
    super(options);

    this.secretKeys = Object.freeze(validateSecrets(options?.secret));
    this.maxChunks = validateMaxChunks(options.maxChunks ?? DEFAULT_MAX_CHUNKS);

    // Built now, so attribute errors surface at construction and requests find it ready.
    void this.backend;
  }

  protected override createBackend(): ClientSideSessionBackend {
    return new ClientSideSessionBackend(this);
  }
}

/** A decrypted cookie, or the reason it was rejected. */
type OpenResult =
  | { ok: true; data: SessionData; expiresAt: number; keyIndex: number }
  | { ok: false; reason: string };

/** Session cookies found in a request, or the reason they cannot form a session. */
type CookieLayout = { ok: true; values: string[] } | { ok: false; reason: string };

/**
 * Litestar's `ClientSideSessionBackend`. A session is JSON, encrypted with AES-GCM under a
 * random 12-byte nonce, with `{"expires_at":<unix seconds>}` as associated data. The cookie
 * value is base64 of nonce + ciphertext + tag + `additional_authenticated_data=` + that JSON,
 * split into chunks named `key-0`, `key-1`, ... when it does not fit in one cookie named `key`.
 */
export class ClientSideSessionBackend extends BaseSessionBackend<CookieBackendConfig> {
  private readonly algorithm: CipherGCMTypes;
  private readonly chunkPrefix: string;
  private readonly setCookieSuffix: string;
  private readonly clearCookieSuffix: string;
  private readonly singleChunkLength: number;
  private readonly multiChunkLength: number;
  private readonly clearCookies: ReadonlyMap<string, string>;
  private readonly noncePool = Buffer.allocUnsafe(NONCE_POOL_SIZE);
  private nonceOffset = NONCE_POOL_SIZE;

  constructor(config: CookieBackendConfig) {
    super(config);

    const primary = config.secretKeys[0];
    this.algorithm = ALGORITHMS[primary.symmetricKeySize!];
    this.chunkPrefix = `${config.key}-`;
    this.setCookieSuffix = buildSetCookieSuffix(config);
    this.clearCookieSuffix = buildClearCookieSuffix(config);

    const longestChunkName = `${this.chunkPrefix}${config.maxChunks - 1}`;
    this.singleChunkLength = chunkLengthFor(config.key, this.setCookieSuffix);
    this.multiChunkLength = chunkLengthFor(longestChunkName, this.setCookieSuffix);
    this.clearCookies = this.buildClearCookies();

    if (this.multiChunkLength < MIN_CHUNK_LENGTH) {
      throw new ImproperlyConfiguredException(
        `key, path and domain leave only ${this.multiChunkLength} characters of data per ` +
          `cookie within ${MAX_COOKIE_BYTES} bytes; shorten the key, path or domain`,
      );
    }
  }

  /**
   * Serializes and encrypts `data` and splits the base64 text into cookie values. A single
   * value goes in the cookie `key`; several go in `key-0`, `key-1`, ...
   */
  dumpData(data: SessionData, scope?: Scope): string[] {
    const plaintext = this.serializeData(data, scope);
    const expiresAt = Math.round(Date.now() / 1000) + this.config.maxAge;
    const encoded = this.seal(plaintext, expiresAt).toString("base64");

    if (encoded.length <= this.singleChunkLength) return [encoded];

    const chunks: string[] = [];
    for (let start = 0; start < encoded.length; start += this.multiChunkLength) {
      chunks.push(encoded.slice(start, start + this.multiChunkLength));
    }

    return chunks;
  }

  /**
   * Joins, decrypts and deserializes cookie values. Returns an empty object when they are
   * malformed, tampered with, expired, encrypted under another key or not an object.
   */
  loadData(chunks: readonly string[]): SessionData {
    const opened = this.open(chunks.join(""));
    return opened.ok ? opened.data : {};
  }

  /**
   * Returns the request's cookie names that belong to this session: `key` and `key-N`, with N
   * in canonical decimal, ordered by N.
   */
  getCookieKeys(connection: ASGIConnection): string[] {
    const cookies = connection.cookies;
    const numbered: Array<[number, string]> = [];

    for (const name in cookies) {
      if (!Object.hasOwn(cookies, name)) continue;

      const number = this.chunkNumber(name);
      if (number !== null) numbered.push([number, name]);
    }

    if (numbered.length > 1) numbered.sort((a, b) => a[0] - b[0]);
    return numbered.map(([, name]) => name);
  }

  getSessionId(_connection: ASGIConnection): null {
    return null;
  }

  /**
   * Loads the session from the request's cookies. Bad cookies give an empty session, which
   * `storeInMessage` then clears. A cookie past half its lifetime, or read with an older
   * secret, is marked to be written again.
   */
  async loadFromConnection(connection: ASGIConnection): Promise<SessionData> {
    const names = this.getCookieKeys(connection);
    if (names.length === 0) return {};

    const layout = this.collectValues(names, connection.cookies);
    if (!layout.ok) return this.rejectCookies(names, layout.reason);

    const opened = this.open(layout.values.join(""));
    if (!opened.ok) return this.rejectCookies(names, opened.reason);

    const secondsLeft = opened.expiresAt - Date.now() / 1000;
    if (opened.keyIndex > 0 || secondsLeft < this.config.maxAge / 2) {
      getConnectionState(connection.scope).forceSessionWrite = true;
    }

    return opened.data;
  }

  /**
   * Adds Set-Cookie headers for the session to `message`: the session's cookies when it
   * changed, and clearing cookies for request cookies it no longer uses. An unchanged session
   * adds nothing.
   *
   * @throws SessionTooLargeError when the session needs more than `maxChunks` cookies.
   */
  async storeInMessage(
    session: SessionData | null,
    message: SessionCarrierMessage,
    connection: ASGIConnection,
  ): Promise<void> {
    const requestNames = this.getCookieKeys(connection);

    if (isEmptySession(session)) {
      if (requestNames.length > 0) this.addClearCookies(message, requestNames, null);
      return;
    }

    if (!this.sessionChanged(session, connection)) return;

    const chunks = this.dumpData(session!, connection.scope);
    this.assertChunkCount(chunks);

    const headers = (message.headers ??= []);
    const single = chunks.length === 1;

    for (let i = 0; i < chunks.length; i++) {
      const name = single ? this.config.key : `${this.chunkPrefix}${i}`;
      headers.push(["set-cookie", `${name}=${chunks[i]}${this.setCookieSuffix}`]);
    }

    if (requestNames.length > 0) this.addClearCookies(message, requestNames, chunks.length);
  }

  /** Encrypts `plaintext` and returns nonce + ciphertext + tag + marker + associated data. */
  private seal(plaintext: Buffer, expiresAt: number): Buffer {
    const associatedData = Buffer.from(`{"expires_at":${expiresAt}}`, "latin1");
    const nonce = this.nextNonce();
    const cipher = createCipheriv(this.algorithm, this.config.secretKeys[0], nonce, {
      authTagLength: TAG_SIZE,
    });
    cipher.setAAD(associatedData);

    const ciphertext = cipher.update(plaintext);
    cipher.final();

    return Buffer.concat([nonce, ciphertext, cipher.getAuthTag(), MARKER_BYTES, associatedData]);
  }

  /**
   * Decodes and decrypts a joined cookie value. Nothing in it is trusted before GCM
   * authenticates it: the expiry and the key choice are read only from authenticated bytes.
   */
  private open(encoded: string): OpenResult {
    if (encoded.length > MAX_CHUNKS_LIMIT * CHUNK_SIZE) {
      return { ok: false, reason: `the cookie is larger than ${MAX_CHUNKS_LIMIT} chunks` };
    }

    // Buffer's decoder skips characters outside the alphabet; GCM rejects any altered byte.
    const decoded = Buffer.from(encoded, "base64");
    if (decoded.length < MIN_DECODED_LENGTH) {
      return { ok: false, reason: "the cookie is too short to be a session" };
    }

    // The associated data never contains the marker, so its last occurrence is the real one.
    const markerStart = decoded.lastIndexOf(MARKER_BYTES);
    if (markerStart < NONCE_SIZE + TAG_SIZE) {
      return { ok: false, reason: "the cookie has no associated data marker" };
    }

    const associatedData = decoded.subarray(markerStart + MARKER_BYTES.length);
    const decrypted = this.decrypt(decoded, markerStart, associatedData);
    if (decrypted === null) {
      return { ok: false, reason: "the cookie failed authentication" };
    }

    return this.readAuthenticated(decrypted.plaintext, associatedData, decrypted.keyIndex);
  }

  /** Tries every secret in order; returns the plaintext and the index of the secret used. */
  private decrypt(
    decoded: Buffer,
    markerStart: number,
    associatedData: Buffer,
  ): { plaintext: Buffer; keyIndex: number } | null {
    const nonce = decoded.subarray(0, NONCE_SIZE);
    const ciphertext = decoded.subarray(NONCE_SIZE, markerStart - TAG_SIZE);
    const tag = decoded.subarray(markerStart - TAG_SIZE, markerStart);
    const keys = this.config.secretKeys;

    for (let keyIndex = 0; keyIndex < keys.length; keyIndex++) {
      const key = keys[keyIndex];
      const algorithm = ALGORITHMS[key.symmetricKeySize!];

      try {
        const decipher = createDecipheriv(algorithm, key, nonce, { authTagLength: TAG_SIZE });
        decipher.setAAD(associatedData);
        decipher.setAuthTag(tag);

        const plaintext = decipher.update(ciphertext);
        decipher.final();
        return { plaintext, keyIndex };
      } catch {
        // A wrong key and a tampered cookie fail alike; the next key may still open it.
      }
    }

    return null;
  }

  /** Checks the authenticated expiry and deserializes the plaintext. */
  private readAuthenticated(
    plaintext: Buffer,
    associatedData: Buffer,
    keyIndex: number,
  ): OpenResult {
    const expiresAt = readExpiresAt(associatedData);
    if (expiresAt === null) {
      return { ok: false, reason: "the associated data has no numeric expires_at" };
    }

    if (expiresAt <= Math.round(Date.now() / 1000)) {
      return { ok: false, reason: "the session has expired" };
    }

    try {
      return { ok: true, data: this.deserializeData(plaintext), expiresAt, keyIndex };
    } catch {
      return { ok: false, reason: "the session data does not deserialize to an object" };
    }
  }

  /** Returns the chunk's number, -1 for the unnumbered cookie, or null for other cookies. */
  private chunkNumber(name: string): number | null {
    if (name === this.config.key) return -1;
    if (!name.startsWith(this.chunkPrefix)) return null;

    const digits = name.slice(this.chunkPrefix.length);
    return CHUNK_NUMBER.test(digits) ? Number(digits) : null;
  }

  /**
   * Returns the cookie values in order when they form one session: the single cookie `key`,
   * or `key-0` to `key-(n-1)` with none missing and no `key` beside them.
   */
  private collectValues(names: string[], cookies: Readonly<Record<string, string>>): CookieLayout {
    if (names.length > MAX_CHUNKS_LIMIT) {
      return { ok: false, reason: `the request has more than ${MAX_CHUNKS_LIMIT} session cookies` };
    }

    if (names.length === 1 && names[0] === this.config.key) {
      return { ok: true, values: [cookies[names[0]]] };
    }

    for (let i = 0; i < names.length; i++) {
      if (names[i] !== `${this.chunkPrefix}${i}`) {
        return { ok: false, reason: "the session cookies are incomplete or mixed" };
      }
    }

    return { ok: true, values: names.map((name) => cookies[name]) };
  }

  private rejectCookies(names: string[], reason: string): SessionData {
    this.config.logger.debug(
      { key: this.config.key, cookies: names, reason },
      `session cookie rejected because ${reason}, starting an empty session`,
    );
    return {};
  }

  /**
   * Throws `SessionTooLargeError` when the session needs more than `maxChunks` cookies. The
   * error is not logged here, because the caller that catches it (`App`, or the server for a
   * raw ASGI app) logs it once.
   */
  private assertChunkCount(chunks: string[]): void {
    const maxChunks = this.config.maxChunks;
    if (chunks.length <= maxChunks) return;

    const size = chunks.reduce((total, chunk) => total + chunk.length, 0);
    const limit = maxChunks * this.multiChunkLength;

    throw new SessionTooLargeError(
      `the encrypted session is ${size} bytes and needs ${chunks.length} cookies, more than ` +
        `maxChunks (${maxChunks} cookies, ${limit} bytes); store less in the session, raise ` +
        "maxChunks or use server-side sessions",
      { size, limit, chunks: chunks.length, maxChunks },
    );
  }

  /** Adds clearing cookies for request cookies that the response does not set. */
  private addClearCookies(
    message: SessionCarrierMessage,
    requestNames: string[],
    chunkCount: number | null,
  ): void {
    const headers = (message.headers ??= []);

    for (const name of requestNames) {
      if (chunkCount !== null && this.isSetBy(name, chunkCount)) continue;

      const header = this.clearCookies.get(name) ?? `${name}=null${this.clearCookieSuffix}`;
      headers.push(["set-cookie", header]);
    }
  }

  private isSetBy(name: string, chunkCount: number): boolean {
    if (chunkCount === 1) return name === this.config.key;

    const number = this.chunkNumber(name);
    return number !== null && number >= 0 && number < chunkCount;
  }

  private buildClearCookies(): ReadonlyMap<string, string> {
    const headers = new Map<string, string>();
    const names = [this.config.key];

    for (let i = 0; i < this.config.maxChunks; i++) names.push(`${this.chunkPrefix}${i}`);
    for (const name of names) headers.set(name, `${name}=null${this.clearCookieSuffix}`);

    return headers;
  }

  private nextNonce(): Buffer {
    if (this.nonceOffset === NONCE_POOL_SIZE) {
      // Refilling in place is safe: every earlier nonce was copied into its cookie already.
      randomFillSync(this.noncePool);
      this.nonceOffset = 0;
    }

    const nonce = this.noncePool.subarray(this.nonceOffset, this.nonceOffset + NONCE_SIZE);
    this.nonceOffset += NONCE_SIZE;
    return nonce;
  }
}

/** Reads `expires_at` from authenticated associated data; null when it is missing or bad. */
function readExpiresAt(associatedData: Buffer): number | null {
  const text = associatedData.toString("latin1");
  const written = WRITTEN_AAD.exec(text);
  if (written !== null) return Number(written[1]);

  let parsed: unknown;

  try {
    parsed = JSON.parse(associatedData.toString("utf8"));
  } catch {
    return null;
  }

  if (parsed === null || typeof parsed !== "object") return null;

  const expiresAt = (parsed as { expires_at?: unknown }).expires_at;
  return typeof expiresAt === "number" && Number.isFinite(expiresAt) ? expiresAt : null;
}

/**
 * Renders the attributes after the value, in the order Litestar writes them (Python's
 * `SimpleCookie` sorts them by name): Domain, HttpOnly, Max-Age, Path, SameSite, Secure.
 */
function buildSetCookieSuffix(config: CookieBackendConfig): string {
  let suffix = "";

  if (config.domain !== null) suffix += `; Domain=${config.domain}`;
  if (config.httpOnly) suffix += "; HttpOnly";
  suffix += `; Max-Age=${config.maxAge}; Path=${config.path}; SameSite=${config.sameSite}`;
  if (config.secure) suffix += "; Secure";

  return suffix;
}

/**
 * Renders the attributes of a clearing cookie. Both `Max-Age=0` and a 1970 `Expires` are set,
 * so clients that understand only one of them still delete the cookie.
 */
function buildClearCookieSuffix(config: CookieBackendConfig): string {
  let suffix = "";

  if (config.domain !== null) suffix += `; Domain=${config.domain}`;
  suffix += `; Expires=${EXPIRES_IN_PAST}`;
  if (config.httpOnly) suffix += "; HttpOnly";
  suffix += `; Max-Age=0; Path=${config.path}; SameSite=${config.sameSite}`;
  if (config.secure) suffix += "; Secure";

  return suffix;
}

/** Returns how many base64 characters fit in a cookie named `name` within `MAX_COOKIE_BYTES`. */
function chunkLengthFor(name: string, suffix: string): number {
  const room = MAX_COOKIE_BYTES - Buffer.byteLength(`${name}=${suffix}`, "utf8");
  return Math.min(CHUNK_SIZE, room);
}

function validateSecrets(secret: CookieBackendOptions["secret"] | undefined): KeyObject[] {
  if (secret === undefined || secret === null) {
    throw new ImproperlyConfiguredException(
      "secret is missing: pass 16, 24 or 32 random bytes, such as crypto.randomBytes(32)",
    );
  }

  if (secret instanceof Uint8Array) return [createSecretKey(validateSecret(secret, "secret"))];

  if (!Array.isArray(secret) || secret.length === 0) {
    throw new ImproperlyConfiguredException(
      "secret must be a Buffer or Uint8Array of 16, 24 or 32 bytes, or a non-empty list of " +
        `them, got ${describeType(secret)}; decode a hex secret with Buffer.from(hex, "hex")`,
    );
  }

  return secret.map((item, index) =>
    createSecretKey(validateSecret(item as unknown, `secret[${index}]`)),
  );
}

function validateSecret(secret: unknown, option: string): Buffer {
  if (!(secret instanceof Uint8Array)) {
    throw new ImproperlyConfiguredException(
      `${option} must be a Buffer or Uint8Array, got ${describeType(secret)}; decode a hex ` +
        'secret with Buffer.from(hex, "hex")',
    );
  }

  if (ALGORITHMS[secret.length] === undefined) {
    throw new ImproperlyConfiguredException(
      `${option} must be 16, 24 or 32 bytes long (AES-128, AES-192 or AES-256), got ` +
        `${secret.length} bytes; generate one with crypto.randomBytes(32)`,
    );
  }

  return Buffer.from(secret);
}

function validateMaxChunks(maxChunks: number): number {
  if (!Number.isInteger(maxChunks) || maxChunks < 1 || maxChunks > MAX_CHUNKS_LIMIT) {
    throw new ImproperlyConfiguredException(
      `maxChunks must be a whole number from 1 to ${MAX_CHUNKS_LIMIT}, got ` +
        `${String(maxChunks)}; browsers keep at least 50 cookies per domain`,
    );
  }

  return maxChunks;
}

function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an empty list";
  return typeof value === "object" ? (value.constructor?.name ?? "object") : typeof value;
}
