import { createDecipheriv } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";

import { ASGIConnection, type SessionData } from "../../../lib/connection/base";
import type { Logger } from "../../../lib/logger";
import type {
  ASGIApp,
  HTTPResponseStartEvent,
  HTTPScope,
  Receive,
  Send,
  SendMessage,
} from "../../../lib/types/asgi";

/** One cookie written by Litestar 3.0.0b0's `ClientSideSessionBackend`. */
export interface LitestarVector {
  id: string;
  kind: "fresh" | "expired";
  secret_hex: string;
  key: string;
  max_age: number;
  cookie_attrs: {
    path: string;
    domain: string | null;
    secure: boolean;
    httponly: boolean;
    samesite: "lax" | "strict" | "none";
  };
  payload: Record<string, unknown>;
  plaintext_json: string;
  issued_at: number;
  nonce_hex: string;
  aad_json: string;
  expires_at: number;
  chunks: string[];
  set_cookie: string[];
  request_cookies: Record<string, string>;
  expected_session: Record<string, unknown>;
}

interface VectorFile {
  constants: { NONCE_SIZE: number; CHUNK_SIZE: number; AAD: string };
  vectors: LitestarVector[];
}

const VECTORS_PATH = path.resolve(__dirname, "../../../../shared/litestar-vectors.json");

let vectorFile: VectorFile | undefined;

export function loadVectorFile(): VectorFile {
  vectorFile ??= JSON.parse(readFileSync(VECTORS_PATH, "utf8")) as VectorFile;
  return vectorFile;
}

/** Joins cookies into a `cookie` request header value. */
export function cookieHeader(cookies: Record<string, string>): string {
  return Object.entries(cookies)
    .map(([name, value]) => `${name}=${value}`)
    .join("; ");
}

/** Builds an HTTP scope with the given request headers. */
export function makeHttpScope(headers: Array<[string, string]> = []): HTTPScope {
  return {
    type: "http",
    asgi: { version: "3.0", spec_version: "2.5" },
    http_version: "1.1",
    method: "GET",
    scheme: "http",
    path: "/",
    raw_path: "/",
    query_string: "",
    root_path: "",
    headers,
    client: ["127.0.0.1", 50000],
    server: ["127.0.0.1", 8000],
    state: {},
  };
}

/** Builds a connection whose request carries `cookies` in one `cookie` header. */
export function connectionWithCookies(cookies: Record<string, string>): ASGIConnection {
  const header = cookieHeader(cookies);
  return new ASGIConnection(makeHttpScope(header === "" ? [] : [["cookie", header]]));
}

export interface LogEntry {
  level: "debug" | "info" | "warn" | "error";
  context: Record<string, unknown>;
  message: string;
}

/** Creates a logger that keeps every entry, for assertions. */
export function recordingLogger(): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const record =
    (level: LogEntry["level"]) =>
    (context: object, message?: string): void => {
      entries.push({ level, context: context as Record<string, unknown>, message: message ?? "" });
    };

  return {
    entries,
    debug: record("debug"),
    info: record("info"),
    warn: record("warn"),
    error: record("error"),
  };
}

/**
 * Reads a session cookie the way Litestar 3.0's `load_data` does, without the backend's code.
 * It base64-decodes the joined chunks, takes the 12-byte nonce and splits at the first marker.
 * Then it checks `expires_at` against `nowSeconds` and decrypts the rest with AES-GCM. It
 * throws where Litestar would raise.
 */
export function readAsLitestar(
  secret: Buffer,
  chunks: readonly string[],
  nowSeconds = Math.round(Date.now() / 1000),
): unknown {
  const decoded = Buffer.from(chunks.join(""), "base64");
  const nonce = decoded.subarray(0, 12);
  const markerAt = decoded.indexOf("additional_authenticated_data=");
  if (markerAt === -1) return {};

  const associatedData = decoded.subarray(markerAt + "additional_authenticated_data=".length);
  const { expires_at: expiresAt } = JSON.parse(associatedData.toString("utf8")) as {
    expires_at: number;
  };
  if (!(expiresAt > nowSeconds)) return {};

  const sealed = decoded.subarray(12, markerAt);
  const bits = secret.length * 8;
  const decipher = createDecipheriv(`aes-${bits}-gcm` as "aes-128-gcm", secret, nonce);
  decipher.setAAD(associatedData);
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));

  const plaintext = Buffer.concat([
    decipher.update(sealed.subarray(0, sealed.length - 16)),
    decipher.final(),
  ]);
  return JSON.parse(plaintext.toString("utf8"));
}

/** Splits a Set-Cookie value into its name, value and attribute list. */
export function parseSetCookie(header: string): {
  name: string;
  value: string;
  attributes: string[];
} {
  const [pair, ...attributes] = header.split("; ");
  const equals = pair.indexOf("=");
  return { name: pair.slice(0, equals), value: pair.slice(equals + 1), attributes };
}

/** Removes the double quotes Python's `SimpleCookie` puts around some values. */
export function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"')
    ? value.slice(1, -1)
    : value;
}

/** What one in-process request through a wrapped app produced. */
export interface InProcessResult {
  messages: SendMessage[];
  setCookies: string[];
  session: SessionData | null | undefined;
}

/**
 * Sends one request carrying `cookies` through `middleware` to an app that lets `handler` act
 * on the scope, and collects what reaches the client. For unit checks that need no socket.
 */
export async function requestInProcess(
  middleware: { wrap(app: ASGIApp): ASGIApp },
  cookies: Record<string, string>,
  handler: (scope: HTTPScope) => void | Promise<void> = () => undefined,
): Promise<InProcessResult> {
  const header = cookieHeader(cookies);
  const scope = makeHttpScope(header === "" ? [] : [["cookie", header]]);
  const messages: SendMessage[] = [];
  let session: SessionData | null | undefined;

  const inner: ASGIApp = async (innerScope, _receive, send) => {
    await handler(innerScope as HTTPScope);
    session = (innerScope as HTTPScope).session;
    await send({ type: "http.response.start", status: 200, headers: [] });
    await send({ type: "http.response.body", body: new Uint8Array(0) });
  };

  const receive: Receive = async () => ({ type: "http.disconnect" });
  const send: Send = async (message) => {
    messages.push(message);
  };

  await middleware.wrap(inner)(scope, receive, send);

  const start = messages.find((message) => message.type === "http.response.start") as
    HTTPResponseStartEvent | undefined;
  const setCookies = (start?.headers ?? [])
    .filter(([name]) => name === "set-cookie")
    .map(([, value]) => value);

  return { messages, setCookies, session };
}

/** Returns the cookies a browser would keep after `setCookies`, applied to `jar`. */
export function applySetCookies(
  jar: Record<string, string>,
  setCookies: readonly string[],
): Record<string, string> {
  const next = { ...jar };

  for (const header of setCookies) {
    const { name, value, attributes } = parseSetCookie(header);
    if (attributes.includes("Max-Age=0")) delete next[name];
    else next[name] = value;
  }

  return next;
}
