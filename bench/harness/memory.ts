import { spawn } from "node:child_process";
import { join } from "node:path";

import { primeAndCheck } from "./http-check";
import { runLoad } from "./load";
import type { Scenario } from "./scenarios";
import { pinned, ServerProcess } from "./server-process";
import { ROOT, type BenchSettings } from "./settings";

/** RSS is called flat when every judged sample is within this fraction of the reference one. */
const FLAT_TOLERANCE = 0.05;

export interface RssSample {
  requests: number;
  seconds: number;
  /** RSS as the load left it, before any forced collection. */
  rssUnderLoad: number;
  /** RSS and used heap after two full collections: what the server retains. */
  rss: number;
  heapUsed: number;
}

export interface RssOverRequests {
  scenario: string;
  requests: number;
  seconds: number;
  samples: RssSample[];
  /**
   * Index of the sample the others are compared with: the second one when there are more than
   * two, because the first segment includes start-up and JIT warm-up.
   */
  referenceIndex: number;
  /** Change of RSS after collection from the reference sample to the last, as a fraction. */
  growth: number;
  /** Largest distance of a later sample's RSS after collection from the reference, a fraction. */
  maxDeviation: number;
  flat: boolean;
}

/**
 * Loads one server with back-to-back segments until `settings.memoryRequests` requests or
 * `settings.memoryMaxSeconds` have passed, sampling RSS after every segment. Flatness is judged
 * on RSS after forced collections, because RSS under load swings with the garbage collector's
 * cycle.
 */
export async function measureRssOverRequests(
  scenario: Scenario,
  settings: BenchSettings,
  loader: "wrk" | "autocannon",
  serverEnv: Record<string, string>,
): Promise<RssOverRequests> {
  const server = await ServerProcess.start({
    server: scenario.server,
    variant: scenario.variant,
    cpus: settings.serverCpus,
    env: serverEnv,
  });

  try {
    const cookie = await primeAndCheck(scenario, server.port);
    const samples: RssSample[] = [];
    const started = performance.now();
    let requests = 0;

    while (requests < settings.memoryRequests) {
      const seconds = (performance.now() - started) / 1000;
      if (seconds >= settings.memoryMaxSeconds) break;

      const result = await runLoad({
        port: server.port,
        cookie,
        durationSeconds: settings.memorySegmentSeconds,
        connections: settings.connections,
        cpus: settings.loadCpus,
        loader,
      });
      if (result.errors > 0) throw new Error(`${scenario.id}: ${result.errors} requests failed`);

      requests += result.requests;
      const underLoad = await server.memory(false);
      const retained = await server.memory(true);
      samples.push({
        requests,
        seconds: (performance.now() - started) / 1000,
        rssUnderLoad: underLoad.rss,
        rss: retained.rss,
        heapUsed: retained.heapUsed,
      });
    }

    return {
      scenario: scenario.id,
      requests,
      seconds: (performance.now() - started) / 1000,
      samples,
      ...judgeFlatness(samples),
    };
  } finally {
    await server.stop();
  }
}

function judgeFlatness(
  samples: RssSample[],
): Pick<RssOverRequests, "referenceIndex" | "growth" | "maxDeviation" | "flat"> {
  const referenceIndex = samples.length > 2 ? 1 : 0;
  const reference = samples[referenceIndex]?.rss ?? NaN;
  const last = samples[samples.length - 1]?.rss ?? NaN;
  let maxDeviation = 0;

  for (const sample of samples.slice(referenceIndex)) {
    maxDeviation = Math.max(maxDeviation, Math.abs(sample.rss - reference) / reference);
  }

  return {
    referenceIndex,
    growth: (last - reference) / reference,
    maxDeviation,
    flat: maxDeviation <= FLAT_TOLERANCE,
  };
}

export interface WebSocketMemory {
  scenario: string;
  label: string;
  requested: number;
  opened: number;
  failed: number;
  firstError: string | null;
  seconds: number;
  rssBefore: number;
  rssAfter: number;
  heapBefore: number;
  heapAfter: number;
  bytesPerSocket: number;
  heapBytesPerSocket: number;
}

export interface WebSocketTarget {
  id: string;
  label: string;
  server: string;
  variant: string;
  /** A scenario whose check primes the session cookie, or null for sockets without one. */
  sessionScenario: Scenario | null;
  expectedMessage: string | null;
}

const SOCKET_OPEN_TIMEOUT_MS = 10_000;
const CLIENT_TIMEOUT_MS = 180_000;

/**
 * Opens `settings.sockets` idle WebSockets from a client process on the load core and reports
 * the server's memory growth per socket, both measured after full collections.
 */
export async function measureWebSocketMemory(
  target: WebSocketTarget,
  settings: BenchSettings,
): Promise<WebSocketMemory> {
  const server = await ServerProcess.start({
    server: target.server,
    variant: target.variant,
    cpus: settings.serverCpus,
  });

  try {
    const cookie = target.sessionScenario
      ? await primeAndCheck(target.sessionScenario, server.port)
      : null;
    const before = await server.memory(true);
    const started = performance.now();
    const clients = await openClients(settings, {
      port: server.port,
      count: settings.sockets,
      batch: settings.socketBatch,
      cookie,
      expectedMessage: target.expectedMessage,
      timeoutMillis: SOCKET_OPEN_TIMEOUT_MS,
    });

    try {
      const seconds = (performance.now() - started) / 1000;
      const after = await server.memory(true);
      const opened = Math.max(1, clients.report.opened);

      return {
        scenario: target.id,
        label: target.label,
        requested: settings.sockets,
        opened: clients.report.opened,
        failed: clients.report.failed,
        firstError: clients.report.firstError,
        seconds,
        rssBefore: before.rss,
        rssAfter: after.rss,
        heapBefore: before.heapUsed,
        heapAfter: after.heapUsed,
        bytesPerSocket: (after.rss - before.rss) / opened,
        heapBytesPerSocket: (after.heapUsed - before.heapUsed) / opened,
      };
    } finally {
      await clients.close();
    }
  } finally {
    await server.stop();
  }
}

interface OpenedReport {
  opened: number;
  failed: number;
  firstError: string | null;
}

async function openClients(
  settings: BenchSettings,
  options: Record<string, unknown>,
): Promise<{ report: OpenedReport; close: () => Promise<void> }> {
  const script = join(ROOT, "bench", "harness", "ws-clients.ts");
  const nodeArgs = ["-r", "ts-node/register/transpile-only", script];
  const [command, args] = pinned(settings.loadCpus, process.execPath, nodeArgs);
  const child = spawn(command, args, { cwd: ROOT, stdio: ["ignore", "inherit", "inherit", "ipc"] });

  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const kill = setTimeout(() => child.kill("SIGKILL"), CLIENT_TIMEOUT_MS);

  const report = await new Promise<OpenedReport>((resolve, reject) => {
    child.on("message", (message: { type: string } & OpenedReport) => {
      if (message.type === "opened") resolve(message);
    });
    child.once("exit", (code) => reject(new Error(`WebSocket client exited with code ${code}`)));
    child.send({ type: "open", ...options });
  });

  return {
    report,
    close: async () => {
      if (child.connected) child.send({ type: "close" });
      await exited;
      clearTimeout(kill);
    },
  };
}
