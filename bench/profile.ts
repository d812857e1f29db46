/**
 * Profiles one scenario's server: `npm run bench:profile -- <scenario> [seconds]`.
 *
 * Starts the server under `node --cpu-prof`, checks it as `npm run bench` does, loads it for
 * the given seconds (default 10), stops it so V8 writes the profile, and prints the functions
 * with the most self time. The `.cpuprofile` file stays in a temporary directory, whose path is
 * printed, for Chrome DevTools or speedscope.
 */
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { topSelfTime } from "./harness/cpuprofile";
import { primeAndCheck } from "./harness/http-check";
import { chooseLoader, runLoad } from "./harness/load";
import { startRedis } from "./harness/redis";
import { SCENARIOS } from "./harness/scenarios";
import { ServerProcess } from "./harness/server-process";
import { readSettings } from "./harness/settings";

const TOP_FUNCTIONS = 30;

function usage(): never {
  const ids = SCENARIOS.map((scenario) => `  ${scenario.id}`).join("\n");
  process.stderr.write(
    `usage: npm run bench:profile -- <scenario> [seconds]\nscenarios:\n${ids}\n`,
  );
  process.exit(2);
}

async function main(): Promise<void> {
  const [id, secondsArgument] = process.argv.slice(2);
  const scenario = SCENARIOS.find((candidate) => candidate.id === id);
  if (!scenario) usage();

  const seconds = Number(secondsArgument ?? 10);
  if (!Number.isFinite(seconds) || seconds <= 0) usage();

  const settings = readSettings();
  const directory = mkdtempSync(join(tmpdir(), `uws-asgi-profile-${scenario.id}-`));

  const redis = scenario.needsRedis ? await startRedis(settings.serverCpus) : null;
  if (typeof redis === "string")
    throw new Error(`${scenario.id} needs Redis, which is unavailable: ${redis}`);

  try {
    const server = await ServerProcess.start({
      server: scenario.server,
      variant: scenario.variant,
      cpus: settings.serverCpus,
      env: redis ? { BENCH_REDIS_URL: redis.url } : {},
      nodeFlags: ["--cpu-prof", "--cpu-prof-dir", directory],
    });

    try {
      const cookie = await primeAndCheck(scenario, server.port);
      const result = await runLoad({
        port: server.port,
        cookie,
        durationSeconds: seconds,
        connections: settings.connections,
        cpus: settings.loadCpus,
        loader: chooseLoader(settings.loader),
      });
      process.stdout.write(
        `${scenario.id}: ${Math.round(result.requestsPerSecond)} req/s under the profiler, ` +
          `${result.errors} failed requests\n`,
      );
    } finally {
      await server.stop();
    }
  } finally {
    if (redis) await redis.stop();
  }

  printProfile(directory);
}

function printProfile(directory: string): void {
  const file = readdirSync(directory).find((name) => name.endsWith(".cpuprofile"));
  if (!file)
    throw new Error(`no .cpuprofile found in ${directory}: the server did not write its profile`);

  const path = join(directory, file);
  const summary = topSelfTime(path, TOP_FUNCTIONS);
  const busy = (summary.busyMicros / 1000).toFixed(0);
  const idle = (summary.idleMicros / 1000).toFixed(0);

  process.stdout.write(`\nProfile: ${path}\n`);
  process.stdout.write(`Sampled ${busy} ms busy and ${idle} ms idle, start-up included.\n`);
  process.stdout.write(`Top ${TOP_FUNCTIONS} functions by self time, as a share of busy time:\n\n`);
  process.stdout.write(`${"self %".padStart(7)}  ${"self ms".padStart(9)}  function (location)\n`);

  for (const entry of summary.entries) {
    const share = (entry.share * 100).toFixed(1).padStart(6) + "%";
    const millis = (entry.selfMicros / 1000).toFixed(1).padStart(9);
    process.stdout.write(`${share}  ${millis}  ${entry.functionName} (${entry.location})\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
