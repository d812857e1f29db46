/**
 * Settings of a benchmark run, from environment variables (defaults for a full run, then for
 * `BENCH_SMOKE=1`):
 * - `BENCH_DURATION` (4, 1), `BENCH_WARMUP` (1, 0): seconds of measured and unmeasured load;
 * - `BENCH_ROUNDS` (3, 1), `BENCH_CONNECTIONS` (50), `BENCH_ONLY` (scenario ids, comma-separated);
 * - `BENCH_MEMORY_REQUESTS` (1,000,000, 5,000), `BENCH_MEMORY_MAX_SECONDS` (150, 4),
 *   `BENCH_MEMORY_SEGMENT` (5, 1): the RSS-over-requests run;
 * - `BENCH_SOCKETS` (10,000, 200), `BENCH_SOCKET_BATCH` (250): the idle WebSocket run;
 * - `BENCH_MICRO_MILLIS` (600, 30): target time of one micro benchmark case;
 * - `BENCH_LOADER` (`auto`, `wrk` or `autocannon`), `BENCH_OUT_DIR` (output directory).
 */
import { mkdtempSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** The repository root. */
export const ROOT = resolve(__dirname, "..", "..");

/** Knobs of one benchmark run, read once from the environment. */
export interface BenchSettings {
  smoke: boolean;
  /** Seconds of measured load per scenario and round. */
  durationSeconds: number;
  /** Seconds of unmeasured load before each measurement. */
  warmupSeconds: number;
  rounds: number;
  /** Number of concurrent keep-alive connections of the load generator. */
  connections: number;
  /** Scenario ids to run; every scenario when empty. */
  only: string[];
  /** Requests in the RSS-over-time run, and its time limit in seconds. */
  memoryRequests: number;
  memoryMaxSeconds: number;
  memorySegmentSeconds: number;
  /** Idle WebSockets opened in the per-socket memory run, in batches of `socketBatch`. */
  sockets: number;
  socketBatch: number;
  /** Target time of one micro benchmark case, in milliseconds. */
  microMillis: number;
  /** CPU lists for `taskset`, or null when the machine has one core. */
  serverCpus: string | null;
  loadCpus: string | null;
  /** Output directories: latest.json goes to `resultsDir`, the page and chart to `docsDir`. */
  resultsDir: string;
  docsDir: string;
  /** Load generator: wrk when on PATH, else autocannon; `BENCH_LOADER` forces one. */
  loader: "wrk" | "autocannon" | "auto";
}

function numberFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;

  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    throw new Error(`${name} must be a non-negative number, got ${JSON.stringify(raw)}`);
  }

  return value;
}

function loaderFromEnv(): BenchSettings["loader"] {
  const raw = process.env.BENCH_LOADER ?? "auto";
  if (raw === "wrk" || raw === "autocannon" || raw === "auto") return raw;

  throw new Error(`BENCH_LOADER must be "wrk", "autocannon" or "auto", got ${JSON.stringify(raw)}`);
}

/**
 * Reads the settings. `BENCH_SMOKE=1` shrinks every run to about a second and writes to a fresh
 * temporary directory instead of bench/results and docs/.
 */
export function readSettings(): BenchSettings {
  const smoke = process.env.BENCH_SMOKE === "1";
  const coreCount = cpus().length;
  const outDir = process.env.BENCH_OUT_DIR || null;
  const smokeDir = smoke && !outDir ? mkdtempSync(join(tmpdir(), "uws-asgi-bench-")) : null;

  return Object.freeze({
    smoke,
    durationSeconds: numberFromEnv("BENCH_DURATION", smoke ? 1 : 4),
    warmupSeconds: numberFromEnv("BENCH_WARMUP", smoke ? 0 : 1),
    rounds: Math.max(1, Math.round(numberFromEnv("BENCH_ROUNDS", smoke ? 1 : 3))),
    connections: Math.max(1, Math.round(numberFromEnv("BENCH_CONNECTIONS", 50))),
    only: (process.env.BENCH_ONLY ?? "").split(",").filter((id) => id !== ""),
    memoryRequests: numberFromEnv("BENCH_MEMORY_REQUESTS", smoke ? 5_000 : 1_000_000),
    memoryMaxSeconds: numberFromEnv("BENCH_MEMORY_MAX_SECONDS", smoke ? 4 : 150),
    memorySegmentSeconds: numberFromEnv("BENCH_MEMORY_SEGMENT", smoke ? 1 : 5),
    sockets: Math.round(numberFromEnv("BENCH_SOCKETS", smoke ? 200 : 10_000)),
    socketBatch: Math.max(1, Math.round(numberFromEnv("BENCH_SOCKET_BATCH", 250))),
    microMillis: numberFromEnv("BENCH_MICRO_MILLIS", smoke ? 30 : 600),
    serverCpus: coreCount >= 2 ? "0" : null,
    loadCpus: coreCount >= 2 ? "1" : null,
    resultsDir: outDir ?? smokeDir ?? join(ROOT, "bench", "results"),
    docsDir: outDir ?? smokeDir ?? join(ROOT, "docs"),
    loader: loaderFromEnv(),
  });
}
