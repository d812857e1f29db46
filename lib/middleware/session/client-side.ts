import {
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  randomFillSync,
  type CipherGCMTypes,
  type KeyObject,
} from "node:crypto";

import type { ASGIConnection, SessionData } from "../../connection/base";
import {
  getConnectionState,
  type OpenedSessionCookie,
  type SessionCookieRead,
} from "../../connection/state";
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

/** The start of the associated data as this backend and Litestar write it. */
const AAD_PREFIX = Buffer.from('{"expires_at":', "latin1");

/** Options of every AES-GCM cipher: Litestar's 16-byte tag. */
const GCM_OPTIONS = { authTagLength: TAG_SIZE };

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
  | { ok: true; data: SessionData; opened: OpenedCookie; known: boolean }
  | { ok: false; reason: string };

/** An authenticated cookie without its value: the plaintext, expiry and secret index. */
type OpenedCookie = Omit<OpenedSessionCookie, "value">;

/** Maximum number of entries in an `OpenedCookieCache`. */
const OPENED_CACHE_ENTRIES = 1024;

/** Maximum total size of an `OpenedCookieCache`: value characters plus plaintext bytes. */
const OPENED_CACHE_SIZE = 4 * 1024 * 1024;

/** Largest entry an `OpenedCookieCache` keeps, 64 KiB: about nine full chunks and plaintext. */
const OPENED_CACHE_ENTRY_SIZE = OPENED_CACHE_SIZE / 64;

/**
 * Cookie values that this backend authenticated in a request that left the session unchanged,
 * with their plaintext. A client sends the same value until the session changes, so repeated
 * reads skip base64 decoding and AES-GCM. Values of changed sessions are not kept, because
 * clients do not send them again. A lookup matches only a value equal, character for
 * character, to an authenticated one, and the expiry is still checked on every request. The
 * oldest entries are dropped first.
 *
 * NOTE: the limits above are estimates, not tuned on production traffic.
 */
class OpenedCookieCache {
  /** Entries by the start of their value, which is the encoded random nonce. */
  private readonly entries = new Map<string, CachedCookie>();
  /** Keys in the order they were added, as a ring; `next` is the slot of the oldest. */
  private readonly order: Array<string | undefined> = new Array(OPENED_CACHE_ENTRIES).fill(
    undefined,
  );
  private next = 0;
  private size = 0;

  get(encoded: string): OpenedCookie | undefined {
    const entry = this.entries.get(cacheKey(encoded));
    return entry !== undefined && entry.value === encoded ? entry : undefined;
  }

  remember(encoded: string, opened: OpenedCookie): void {
    const key = cacheKey(encoded);
    const size = encoded.length + opened.plaintext.length;
    if (size > OPENED_CACHE_ENTRY_SIZE || this.entries.has(key)) return;

    const slot = this.next;
    this.evict(slot);
    for (let i = 1; i < OPENED_CACHE_ENTRIES && this.size + size > OPENED_CACHE_SIZE; i++) {
      this.evict((slot + i) % OPENED_CACHE_ENTRIES);
    }

    // Copies with their own memory, because the value may be a slice of the whole cookie
    // header, and the plaintext a slice of a larger buffer.
    const value = Buffer.from(encoded, "utf16le").toString("utf16le");
    const plaintext = ownMemory(opened.plaintext);
    const { expiresAt, keyIndex } = opened;
    this.entries.set(key, { value, plaintext, expiresAt, keyIndex, size });
    this.order[slot] = key;
    this.next = (slot + 1) % OPENED_CACHE_ENTRIES;
    this.size += size;
  }

  private evict(slot: number): void {
    const key = this.order[slot];
    if (key === undefined) return;

    this.size -= this.entries.get(key)!.size;
    this.entries.delete(key);
    this.order[slot] = undefined;
  }
}

type CachedCookie = OpenedSessionCookie & { size: number };

/** Number of base64 characters that encode the nonce at the start of a cookie value. */
const CACHE_KEY_LENGTH = (NONCE_SIZE / 3) * 4;

/**
 * Returns the part of a cookie value that encodes its random nonce. Entries are found by it
 * and then compared in full, because hashing a value of several kilobytes on every lookup
 * costs about as much as decrypting it.
 */
function cacheKey(encoded: string): string {
  return encoded.slice(0, CACHE_KEY_LENGTH);
}

/**
 * Returns `bytes`, or a copy when they are a slice of a larger allocation, such as Node's
 * shared 8 KB pool, which a kept slice would keep alive in full.
 */
function ownMemory(bytes: Buffer): Buffer {
  if (bytes.byteLength === bytes.buffer.byteLength) return bytes;

  const copy = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(copy);
  return copy;
}

/** Session cookies found in a request, or the reason they cannot form a session. */
type CookieLayout = { ok: true; value: string } | { ok: false; reason: string };

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
  private readonly openedCookies = new OpenedCookieCache();

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
   * value goes in the cookie `key`; several go in `key-0`, `key-1`, ... A caller that has
   * serialized `data` already passes the bytes as `plaintext`.
   */
  dumpData(data: SessionData, scope?: Scope, plaintext?: Buffer): string[] {
    plaintext ??= this.serializeData(data, scope);
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
    return [...this.readCookies(connection).names];
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
    const read = this.readCookies(connection);
    const names = read.names;
    if (names.length === 0) return {};

    const layout = this.collectValues(names, connection.cookies);
    if (!layout.ok) return this.rejectCookies(names, layout.reason);

    const opened = this.open(layout.value);
    if (!opened.ok) return this.rejectCookies(names, opened.reason);

    const { plaintext, expiresAt, keyIndex } = opened.opened;
    const state = getConnectionState(connection.scope);
    const secondsLeft = expiresAt - Date.now() / 1000;
    if (keyIndex > 0 || secondsLeft < this.config.maxAge / 2) state.forceSessionWrite = true;

    if (!opened.known) read.opened = { value: layout.value, ...opened.opened };

    // The decrypted bytes are the loaded snapshot, so the middleware need not serialize the
    // session again. JSON in another form (Litestar writes 1.0 where JSON.stringify writes 1)
    // then counts as changed once, and the cookie is rewritten in our form.
    state.loadedSession = isEmptySession(opened.data) ? null : plaintext;
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
    const read = this.readCookies(connection);
    const requestNames = read.names;

    if (isEmptySession(session)) {
      if (requestNames.length > 0) this.addClearCookies(message, requestNames, null);
      return;
    }

    const plaintext = this.serializeData(session!, connection.scope);
    if (!this.sessionChanged(session, connection, plaintext)) {
      // The client keeps sending this value while the session stays as it is.
      if (read.opened !== null) this.openedCookies.remember(read.opened.value, read.opened);
      return;
    }

    const chunks = this.dumpData(session!, connection.scope, plaintext);
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
    const associatedText = `{"expires_at":${expiresAt}}`;
    const tagStart = NONCE_SIZE + plaintext.length;
    const associatedStart = tagStart + TAG_SIZE + MARKER_BYTES.length;
    const sealed = Buffer.allocUnsafe(associatedStart + associatedText.length);

    // Laid out in place: the nonce, then the ciphertext, tag, marker and associated data.
    const nonce = this.nextNonce();
    nonce.copy(sealed, 0);
    MARKER_BYTES.copy(sealed, tagStart + TAG_SIZE);
    sealed.write(associatedText, associatedStart, "latin1");
    const associatedData = sealed.subarray(associatedStart);

    const cipher = createCipheriv(this.algorithm, this.config.secretKeys[0], nonce, GCM_OPTIONS);
    cipher.setAAD(associatedData);

    // GCM is a stream mode: the ciphertext is as long as the plaintext, all from `update`.
    cipher.update(plaintext).copy(sealed, NONCE_SIZE);
    cipher.final();
    cipher.getAuthTag().copy(sealed, tagStart);

    return sealed;
  }

  /**
   * Decodes and decrypts a joined cookie value. Nothing in it is trusted before GCM
   * authenticates it: the expiry and the key choice are read only from authenticated bytes.
   */
  private open(encoded: string): OpenResult {
    const known = this.openedCookies.get(encoded);
    if (known !== undefined) return this.readAuthenticated(known, true);

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

    const expiresAt = readExpiresAt(associatedData);
    if (expiresAt === null) {
      return { ok: false, reason: "the associated data has no numeric expires_at" };
    }

    const opened = { plaintext: decrypted.plaintext, expiresAt, keyIndex: decrypted.keyIndex };
    return this.readAuthenticated(opened, false);
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
        const decipher = createDecipheriv(algorithm, key, nonce, GCM_OPTIONS);
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
  private readAuthenticated(opened: OpenedCookie, known: boolean): OpenResult {
    if (opened.expiresAt <= Math.round(Date.now() / 1000)) {
      return { ok: false, reason: "the session has expired" };
    }

    try {
      return { ok: true, data: this.deserializeData(opened.plaintext), opened, known };
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
   * Returns what this backend read from the request's cookies, starting with the session
   * cookie names as `getCookieKeys` describes them. Request cookies never change, so the names
   * are found once per connection, for load and store.
   */
  private readCookies(connection: ASGIConnection): SessionCookieRead {
    const state = getConnectionState(connection.scope);
    const cached = state.sessionCookies;
    if (cached !== undefined && cached.owner === this) return cached;

    const cookies = connection.cookies;
    if (!this.mayHaveChunks(connection)) {
      const names = cookies[this.config.key] === undefined ? [] : [this.config.key];
      const read = { owner: this, names, opened: null };
      state.sessionCookies = read;
      return read;
    }

    const numbered: Array<[number, string]> = [];

    for (const name in cookies) {
      if (!Object.hasOwn(cookies, name)) continue;

      const number = this.chunkNumber(name);
      if (number !== null) numbered.push([number, name]);
    }

    if (numbered.length > 1) numbered.sort((a, b) => a[0] - b[0]);
    const read = { owner: this, names: numbered.map(([, name]) => name), opened: null };
    state.sessionCookies = read;
    return read;
  }

  /**
   * Returns false when no `cookie` header field contains `key-`, so the request has no chunk
   * cookies. Cookie names are not decoded, so a chunk name appears literally in its field.
   */
  private mayHaveChunks(connection: ASGIConnection): boolean {
    const headers = connection.scope.headers;

    for (let i = 0; i < headers.length; i++) {
      const header = headers[i];
      if (header[0] === "cookie" && header[1].includes(this.chunkPrefix)) return true;
    }

    return false;
  }

  /**
   * Returns the joined cookie value when the cookies form one session: the single cookie
   * `key`, or `key-0` to `key-(n-1)` with none missing and no `key` beside them.
   */
  private collectValues(
    names: readonly string[],
    cookies: Readonly<Record<string, string>>,
  ): CookieLayout {
    if (names.length > MAX_CHUNKS_LIMIT) {
      return { ok: false, reason: `the request has more than ${MAX_CHUNKS_LIMIT} session cookies` };
    }

    if (names.length === 1 && names[0] === this.config.key) {
      return { ok: true, value: cookies[names[0]] };
    }

    let value = "";
    for (let i = 0; i < names.length; i++) {
      if (names[i] !== `${this.chunkPrefix}${i}`) {
        return { ok: false, reason: "the session cookies are incomplete or mixed" };
      }
      value += cookies[names[i]];
    }

    return { ok: true, value };
  }

  private rejectCookies(names: readonly string[], reason: string): SessionData {
    this.config.logger.debug(
      { key: this.config.key, cookies: [...names], reason },
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
    requestNames: readonly string[],
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
  const written = readWrittenExpiresAt(associatedData);
  if (written !== null) return written;

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
 * Reads `expires_at` from associated data in exactly the form this backend and Litestar write,
 * `{"expires_at":<1 to 15 digits>}`, straight from the bytes; null for any other form.
 */
function readWrittenExpiresAt(associatedData: Buffer): number | null {
  const digitsEnd = associatedData.length - 1;
  const digitCount = digitsEnd - AAD_PREFIX.length;
  if (digitCount < 1 || digitCount > 15 || associatedData[digitsEnd] !== 0x7d) return null;
  if (associatedData.compare(AAD_PREFIX, 0, AAD_PREFIX.length, 0, AAD_PREFIX.length) !== 0) {
    return null;
  }

  let value = 0;
  for (let i = AAD_PREFIX.length; i < digitsEnd; i++) {
    const digit = associatedData[i] - 0x30;
    if (digit < 0 || digit > 9) return null;
    value = value * 10 + digit;
  }

  return value;
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
