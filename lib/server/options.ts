/**
 * `serve()` options: their types, defaults and the one-time validation that turns them into a
 * frozen `ResolvedServeOptions`, so the per-request path never branches on a missing option.
 */
import { accessSync, constants as fsConstants } from "node:fs";

import { ImproperlyConfiguredException } from "../exceptions";
import { defaultLogger, type Logger } from "../logger";

/** Certificate files for HTTPS and WSS, in PEM format. */
export interface TLSOptions {
  /** Path of the private key file. */
  keyFile: string;
  /** Path of the certificate (chain) file. */
  certFile: string;
  /** Passphrase of an encrypted private key. */
  passphrase?: string;
}

/** WebSocket limits, passed to uWebSockets.js. */
export interface WebSocketOptions {
  /**
   * Maximum size of one incoming message in bytes, from 1 to 2^32 - 1; a larger message
   * closes the socket. Default 1 MiB.
   */
  maxPayloadLength?: number;
  /**
   * Seconds without a message or pong before uWS closes the socket; uWS pings idle sockets on
   * its own, so only an unresponsive peer is closed. 0 disables it; otherwise 8 to 960, with a
   * granularity of about 4 seconds. Default 120.
   */
  idleTimeout?: number;
  /**
   * Bytes buffered for a slow client above which `send()` waits for the buffer to drain, from
   * 1 to 2^32 - 1. Default 64 KiB.
   */
  maxBackpressure?: number;
}

/**
 * When the lifespan protocol runs: `"on"` requires it, `"off"` never sends it, and `"auto"`
 * serves without it when the app raises on a lifespan scope before completing startup.
 */
export type LifespanMode = "auto" | "on" | "off";

export interface ServeOptions {
  /** Address to listen on. Default `"127.0.0.1"`. */
  host?: string;
  /** TCP port; 0 lets the OS pick a free one, which `server.port` reports. Default 0. */
  port?: number;
  /** Serve HTTPS and WSS with these certificate files. */
  tls?: TLSOptions;
  /**
   * The path the app is mounted at behind a proxy, such as `/api`, as `scope.root_path`. As in
   * uvicorn, `scope.path` and `scope.raw_path` then start with it. Default `""`.
   */
  rootPath?: string;
  /** When the lifespan protocol runs, as `LifespanMode` describes. Default `"auto"`. */
  lifespan?: LifespanMode;
  /** Maximum request body in bytes; a larger body gets 413. Default 10,000,000, as `App`. */
  maxBodySize?: number;
  websocket?: WebSocketOptions;
  /**
   * Milliseconds `close()` waits for in-flight requests before closing them, and then again at
   * most for WebSocket apps and for the lifespan shutdown. Default 10000.
   */
  shutdownTimeout?: number;
  /** Receives start, stop and error events. Default `defaultLogger()`. */
  logger?: Logger;
}

/** Validated options with every default applied. */
export interface ResolvedServeOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: Readonly<TLSOptions> | null;
  readonly rootPath: string;
  readonly lifespan: LifespanMode;
  readonly maxBodySize: number;
  readonly websocket: Readonly<Required<WebSocketOptions>>;
  readonly shutdownTimeout: number;
  readonly logger: Logger;
}

/**
 * Litestar's default `request_max_body_size`, and the default of `App` and `Request`, so a
 * body that an `App` route accepts is not rejected by the server first.
 */
export const DEFAULT_MAX_BODY_SIZE = 10_000_000;
export const DEFAULT_SHUTDOWN_TIMEOUT = 10_000;
export const DEFAULT_WEBSOCKET_OPTIONS: Readonly<Required<WebSocketOptions>> = Object.freeze({
  maxPayloadLength: 1024 * 1024,
  // uWS's own default.
  idleTimeout: 120,
  // uWS's own default; above it uWS drops messages, which `send()` prevents by waiting.
  maxBackpressure: 64 * 1024,
});

const OPTION_NAMES = new Set([
  "host",
  "port",
  "tls",
  "rootPath",
  "lifespan",
  "maxBodySize",
  "websocket",
  "shutdownTimeout",
  "logger",
]);
const WEBSOCKET_OPTION_NAMES = new Set(["maxPayloadLength", "idleTimeout", "maxBackpressure"]);
const TLS_OPTION_NAMES = new Set(["keyFile", "certFile", "passphrase"]);
const LIFESPAN_MODES: readonly LifespanMode[] = ["auto", "on", "off"];
const LOGGER_METHODS = ["debug", "info", "warn", "error"] as const;
// uWS terminates the process on other values.
const MIN_IDLE_TIMEOUT = 8;
const MAX_IDLE_TIMEOUT = 960;

/** Validates `options` once, without touching the caller's object, and applies defaults. */
export function resolveServeOptions(options: ServeOptions = {}): ResolvedServeOptions {
  requireObject(options, "options");
  rejectUnknownKeys(options, OPTION_NAMES, "");

  return Object.freeze({
    host: resolveHost(options.host),
    port: resolvePort(options.port),
    tls: resolveTLS(options.tls),
    rootPath: resolveRootPath(options.rootPath),
    lifespan: resolveLifespan(options.lifespan),
    maxBodySize: resolveMaxBodySize(options.maxBodySize),
    websocket: resolveWebSocket(options.websocket),
    shutdownTimeout: resolveShutdownTimeout(options.shutdownTimeout),
    logger: resolveLogger(options.logger),
  });
}

function resolveHost(host: unknown): string {
  if (host === undefined) return "127.0.0.1";

  if (typeof host !== "string" || host.length === 0 || /\s/.test(host)) {
    throw invalid(
      "host",
      host,
      "a non-empty address",
      "pass an IP address or host name such as '127.0.0.1'",
    );
  }

  return host;
}

function resolvePort(port: unknown): number {
  if (port === undefined) return 0;

  if (!Number.isInteger(port) || (port as number) < 0 || (port as number) > 65535) {
    throw invalid(
      "port",
      port,
      "an integer from 0 to 65535",
      "pass 0 to let the OS pick a free port",
    );
  }

  return port as number;
}

function resolveTLS(tls: unknown): Readonly<TLSOptions> | null {
  if (tls === undefined || tls === null) return null;

  requireObject(tls, "tls");
  rejectUnknownKeys(tls, TLS_OPTION_NAMES, "tls.");

  const { keyFile, certFile, passphrase } = tls as Record<string, unknown>;
  requireReadableFile(keyFile, "tls.keyFile");
  requireReadableFile(certFile, "tls.certFile");

  if (passphrase !== undefined && typeof passphrase !== "string") {
    // The value is a secret, so the message names only its type.
    throw new ImproperlyConfiguredException(
      `\`tls.passphrase\` must be a string, got a value of type ${typeof passphrase}; ` +
        "pass the key's passphrase as a string or leave it out for an unencrypted key",
    );
  }

  return Object.freeze({
    keyFile: keyFile as string,
    certFile: certFile as string,
    ...(passphrase === undefined ? {} : { passphrase }),
  });
}

function requireReadableFile(path: unknown, name: string): void {
  if (typeof path !== "string" || path.length === 0) {
    throw invalid(name, path, "a non-empty string", "pass the path of a PEM file");
  }

  try {
    accessSync(path, fsConstants.R_OK);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? "unreadable";
    throw new ImproperlyConfiguredException(
      `\`${name}\` must name a readable file, got ${JSON.stringify(path)} (${reason}); ` +
        "check the path and the file's permissions",
    );
  }
}

function resolveRootPath(rootPath: unknown): string {
  if (rootPath === undefined || rootPath === "") return "";

  const valid =
    typeof rootPath === "string" &&
    rootPath.startsWith("/") &&
    !rootPath.endsWith("/") &&
    !/[\s?#]/.test(rootPath);

  if (!valid) {
    throw invalid(
      "rootPath",
      rootPath,
      "'' or a path starting with '/'",
      "pass a path such as '/api', without a trailing '/', query or fragment",
    );
  }

  return rootPath;
}

function resolveLifespan(lifespan: unknown): LifespanMode {
  if (lifespan === undefined) return "auto";

  if (!LIFESPAN_MODES.includes(lifespan as LifespanMode)) {
    throw invalid("lifespan", lifespan, "'auto', 'on' or 'off'", "pick one of these modes");
  }

  return lifespan as LifespanMode;
}

// uWS 20.30 keeps the WebSocket byte limits as unsigned 32-bit integers and silently drops
// the higher bits of a larger value, so 2^32 + 1024 would act as 1024.
const MAX_UINT32 = 2 ** 32 - 1;

function resolveMaxBodySize(maxBodySize: unknown): number {
  if (maxBodySize === undefined) return DEFAULT_MAX_BODY_SIZE;

  if (!Number.isSafeInteger(maxBodySize) || (maxBodySize as number) < 0) {
    throw invalid(
      "maxBodySize",
      maxBodySize,
      "a non-negative integer",
      "pass a number of bytes, such as 1048576 for 1 MiB",
    );
  }

  return maxBodySize as number;
}

function resolveWebSocket(websocket: unknown): Readonly<Required<WebSocketOptions>> {
  if (websocket === undefined) return DEFAULT_WEBSOCKET_OPTIONS;

  requireObject(websocket, "websocket");
  rejectUnknownKeys(websocket, WEBSOCKET_OPTION_NAMES, "websocket.");

  const requested = websocket as WebSocketOptions;
  const maxPayloadLength = requested.maxPayloadLength ?? DEFAULT_WEBSOCKET_OPTIONS.maxPayloadLength;
  const idleTimeout = requested.idleTimeout ?? DEFAULT_WEBSOCKET_OPTIONS.idleTimeout;
  const maxBackpressure = requested.maxBackpressure ?? DEFAULT_WEBSOCKET_OPTIONS.maxBackpressure;

  requireByteLimit(maxPayloadLength, "websocket.maxPayloadLength");
  requireByteLimit(maxBackpressure, "websocket.maxBackpressure");

  const idleTimeoutValid =
    Number.isInteger(idleTimeout) &&
    (idleTimeout === 0 || (idleTimeout >= MIN_IDLE_TIMEOUT && idleTimeout <= MAX_IDLE_TIMEOUT));

  if (!idleTimeoutValid) {
    throw invalid(
      "websocket.idleTimeout",
      idleTimeout,
      `0 or an integer from ${MIN_IDLE_TIMEOUT} to ${MAX_IDLE_TIMEOUT}`,
      "pass a number of seconds, or 0 to disable the timeout",
    );
  }

  return Object.freeze({ maxPayloadLength, idleTimeout, maxBackpressure });
}

function requireByteLimit(value: unknown, name: string): void {
  if (Number.isSafeInteger(value) && (value as number) >= 1 && (value as number) <= MAX_UINT32) {
    return;
  }

  throw invalid(
    name,
    value,
    `an integer from 1 to ${MAX_UINT32}`,
    "pass a number of bytes, such as 65536",
  );
}

function resolveShutdownTimeout(shutdownTimeout: unknown): number {
  if (shutdownTimeout === undefined) return DEFAULT_SHUTDOWN_TIMEOUT;

  const valid =
    typeof shutdownTimeout === "number" &&
    Number.isFinite(shutdownTimeout) &&
    shutdownTimeout >= 0 &&
    // setTimeout() fires at once for delays above 2^31 - 1 ms.
    shutdownTimeout <= 2 ** 31 - 1;

  if (!valid) {
    throw invalid(
      "shutdownTimeout",
      shutdownTimeout,
      "a number from 0 to 2147483647",
      "pass milliseconds, such as 10000",
    );
  }

  return shutdownTimeout;
}

function resolveLogger(logger: unknown): Logger {
  if (logger === undefined) return defaultLogger();

  const valid =
    typeof logger === "object" &&
    logger !== null &&
    LOGGER_METHODS.every(
      (method) => typeof (logger as Record<string, unknown>)[method] === "function",
    );

  if (!valid) {
    throw new ImproperlyConfiguredException(
      "`logger` must have debug, info, warn and error methods; pass a pino logger or the " +
        "result of createLogger()",
    );
  }

  return logger as Logger;
}

function requireObject(value: unknown, name: string): asserts value is object {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid(name, value, "an object", "pass an object literal");
  }
}

function rejectUnknownKeys(value: object, known: ReadonlySet<string>, prefix: string): void {
  for (const key of Object.keys(value)) {
    if (known.has(key)) continue;

    throw new ImproperlyConfiguredException(
      `\`${prefix}${key}\` is not a known option; use one of ` +
        [...known].map((name) => prefix + name).join(", "),
    );
  }
}

function invalid(
  name: string,
  value: unknown,
  requirement: string,
  fix: string,
): ImproperlyConfiguredException {
  return new ImproperlyConfiguredException(
    `\`${name}\` must be ${requirement}, got ${describe(value)}; ${fix}`,
  );
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || value == null) {
    return String(value);
  }
  if (Array.isArray(value)) return "an array";
  return `a value of type ${typeof value}`;
}
