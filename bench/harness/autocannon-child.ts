/**
 * Runs autocannon in its own process, so the load generator can be pinned to its own core, and
 * prints a `LoadResult` as the last line of stdout. Used when wrk is not on PATH.
 */
import type { LoadOptions, LoadResult } from "./load";

/** The part of autocannon 9's API used here; the package ships no type declarations. */
interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  requests: { total: number };
  latency: { p50: number; p99: number };
}

type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  headers: Record<string, string>;
}) => Promise<AutocannonResult>;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require("autocannon") as Autocannon;

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? "{}") as LoadOptions;
  const result = await autocannon({
    url: `http://127.0.0.1:${options.port}/`,
    connections: options.connections,
    duration: options.durationSeconds,
    headers: options.cookie ? { cookie: options.cookie } : {},
  });

  const seconds = result.duration;
  const report: LoadResult = {
    requests: result.requests.total,
    seconds,
    requestsPerSecond: result.requests.total / seconds,
    p50Millis: result.latency.p50,
    p99Millis: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  };

  process.stdout.write(JSON.stringify(report) + "\n");
}

main().catch((error: unknown) => {
  process.stderr.write(`autocannon failed: ${String(error)}\n`);
  process.exitCode = 1;
});
