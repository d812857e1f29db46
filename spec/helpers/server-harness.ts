/**
 * Shared pieces of the server specs: a logger that records entries, servers that are closed
 * after each test, and promises resolved from outside.
 */
import type { Logger } from "../../lib/logger";
import { serve, type Server, type ServeOptions } from "../../lib/server";
import type { ASGIApp, Receive, Send, Scope } from "../../lib/types/asgi";

export type LogLevelName = "debug" | "info" | "warn" | "error";

export interface LogEntry {
  level: LogLevelName;
  context: Record<string, unknown>;
  message: string;
}

/** A logger that keeps every entry, for assertions on what the server logged. */
export class CapturingLogger implements Logger {
  readonly entries: LogEntry[] = [];

  debug(context: object, message = ""): void {
    this.record("debug", context, message);
  }

  info(context: object, message = ""): void {
    this.record("info", context, message);
  }

  warn(context: object, message = ""): void {
    this.record("warn", context, message);
  }

  error(context: object, message = ""): void {
    this.record("error", context, message);
  }

  at(level: LogLevelName): LogEntry[] {
    return this.entries.filter((entry) => entry.level === level);
  }

  private record(level: LogLevelName, context: object, message: string): void {
    this.entries.push({ level, context: { ...context }, message });
  }
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });

  return { promise, resolve, reject };
}

/** Rejects with `message` unless `promise` settles within `timeoutMs`. */
export async function within<T>(
  promise: Promise<T>,
  timeoutMs: number,
  message: string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out: ${message}`)), timeoutMs);
  });

  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `condition` every 5 ms until it holds; rejects after `timeoutMs`. */
export async function waitUntil(
  condition: () => boolean,
  message: string,
  timeoutMs = 3000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;

  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${message}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const running = new Set<Server>();

/**
 * Starts a server on 127.0.0.1 and a free port, with lifespan off and a capturing logger
 * unless `options` sets them. `closeServers()` closes it after the test.
 */
export async function startServer(
  app: ASGIApp,
  options: ServeOptions = {},
): Promise<{ server: Server; logger: CapturingLogger; port: number }> {
  const logger = (options.logger as CapturingLogger | undefined) ?? new CapturingLogger();
  const server = await serve(app, { lifespan: "off", ...options, logger });
  running.add(server);

  return { server, logger, port: server.port };
}

/** Closes every server `startServer` started; use in `afterEach`. */
export async function closeServers(): Promise<void> {
  const servers = [...running];
  running.clear();
  await Promise.all(servers.map((server) => server.close()));
}

/** Builds an app that responds to every HTTP request with `status` and `body`. */
export function textApp(body = "ok", status = 200): ASGIApp {
  return async (scope: Scope, _receive: Receive, send: Send) => {
    if (scope.type !== "http") return;

    await send({
      type: "http.response.start",
      status,
      headers: [["content-type", "text/plain; charset=utf-8"]],
    });
    await send({ type: "http.response.body", body: Buffer.from(body) });
  };
}
