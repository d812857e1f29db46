/**
 * Starts a private `redis-server` for tests: loopback only, on a free port, with persistence off
 * and its working directory in a new temporary directory. A missing binary is an error, not a
 * reason to skip, because CI installs the Debian package `redis-server`.
 */

import { spawn, type ChildProcess } from "node:child_process";
import { constants } from "node:fs";
import { access, mkdtemp, rm } from "node:fs/promises";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  port: number;
  pid: number;

  /** Stops the server by its PID and deletes its directory. Calling it again does nothing. */
  stop(): Promise<void>;
}

const BINARY_NAME = "redis-server";
const START_ATTEMPTS = 3;
const READY_TIMEOUT_MS = 10_000;
const POLL_INTERVAL_MS = 25;
const PING_TIMEOUT_MS = 500;
const STOP_TIMEOUT_MS = 5_000;
const OUTPUT_LIMIT = 4096;

/**
 * Starts `redis-server` and resolves once it replies to PING. Retries on a new port when another
 * process took the chosen port between probing and binding.
 */
export async function startRedisServer(): Promise<RedisServer> {
  const binary = await findExecutable(BINARY_NAME);
  let lastError: Error | null = null;

  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    const port = await findFreePort();
    const directory = await mkdtemp(join(tmpdir(), "redis-test-"));

    try {
      return await launch(binary, port, directory);
    } catch (error) {
      await rm(directory, { recursive: true, force: true });
      lastError = error as Error;
      if (!(error instanceof PortInUseError)) throw error;
    }
  }

  throw new Error(`redis-server failed to start after ${START_ATTEMPTS} attempts`, {
    cause: lastError,
  });
}

class PortInUseError extends Error {}

async function launch(binary: string, port: number, directory: string): Promise<RedisServer> {
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    directory,
    "--daemonize",
    "no",
  ];
  const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
  const output = captureOutput(child);
  const exited = waitForExit(child);

  const pid = child.pid;
  if (pid === undefined) throw new Error(`${binary} could not be spawned`);

  const ready = await waitUntilReady(port, exited);
  if (!ready) {
    await stopProcess(child, exited);
    const text = output();
    if (text.includes("Address already in use")) throw new PortInUseError(text);

    throw new Error(`redis-server on port ${port} did not reply to PING. Its output:\n${text}`);
  }

  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= stopProcess(child, exited).then(() =>
      rm(directory, { recursive: true, force: true }),
    );
    return stopped;
  };

  return { url: `redis://127.0.0.1:${port}`, port, pid, stop };
}

/** Returns `false` when the process exited or no PING reply came within `READY_TIMEOUT_MS`. */
async function waitUntilReady(port: number, exited: Promise<void>): Promise<boolean> {
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
  });

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline && !hasExited) {
    if (await ping(port)) return true;

    await delay(POLL_INTERVAL_MS);
  }

  return false;
}

/** Sends an inline PING command and resolves whether `+PONG` came back. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    let received = "";

    const finish = (result: boolean) => {
      socket.destroy();
      resolve(result);
    };

    socket.setTimeout(PING_TIMEOUT_MS, () => finish(false));
    socket.once("error", () => finish(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      received += chunk.toString("latin1");
      if (received.includes("\r\n")) finish(received.startsWith("+PONG"));
    });
  });
}

/** Sends SIGTERM, then SIGKILL when the process is still running after `STOP_TIMEOUT_MS`. */
async function stopProcess(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;

  child.kill("SIGTERM");
  if (await settlesWithin(exited, STOP_TIMEOUT_MS)) return;

  child.kill("SIGKILL");
  if (await settlesWithin(exited, STOP_TIMEOUT_MS)) return;

  throw new Error(`redis-server (pid ${child.pid}) did not exit after SIGKILL`);
}

function waitForExit(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.once("error", () => resolve());
  });
}

/** Keeps the last `OUTPUT_LIMIT` characters of the process output for error messages. */
function captureOutput(child: ChildProcess): () => string {
  let text = "";
  const append = (chunk: Buffer) => {
    text = (text + chunk.toString("utf8")).slice(-OUTPUT_LIMIT);
  };

  child.stdout?.on("data", append);
  child.stderr?.on("data", append);
  return () => text;
}

/**
 * Binds port 0 on loopback, reads the port the OS chose, and releases it, so nothing listens
 * there until a caller binds it.
 */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function findExecutable(name: string): Promise<string> {
  const directories = (process.env.PATH ?? "").split(delimiter).filter((entry) => entry !== "");

  for (const directory of directories) {
    const candidate = join(directory, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory; try the next one.
    }
  }

  throw new Error(
    `${name} was not found on PATH. The Redis tests need a real server: install it ` +
      "(Debian: apt-get install redis-server) and run the tests again.",
  );
}

async function settlesWithin(promise: Promise<void>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });

  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function delay(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}
