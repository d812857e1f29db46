import { primeAndCheck } from "./http-check";
import { runLoad } from "./load";
import type { Scenario } from "./scenarios";
import { ServerProcess } from "./server-process";
import type { BenchSettings } from "./settings";

/** One measured run of one scenario. */
export interface RoundResult {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  p50Millis: number;
  p99Millis: number;
  /** Server CPU time (user + system) divided by the requests served in the measured run. */
  cpuMicrosPerRequest: number;
  /** Server CPU time over wall time: near 1 means the server's core was the limit. */
  serverBusy: number;
  /** Server resident set size right after the measured run, in bytes. */
  rss: number;
}

export interface RoundContext {
  settings: BenchSettings;
  loader: "wrk" | "autocannon";
  /** Environment for servers, such as the Redis URL. */
  serverEnv: Record<string, string>;
}

/**
 * Starts the scenario's server, checks it, warms it up, measures it, and stops it.
 *
 * @throws Error when the check fails or any measured request failed.
 */
export async function runScenarioRound(
  scenario: Scenario,
  context: RoundContext,
): Promise<RoundResult> {
  const { settings } = context;
  const server = await ServerProcess.start({
    server: scenario.server,
    variant: scenario.variant,
    cpus: settings.serverCpus,
    env: context.serverEnv,
  });

  try {
    const cookie = await primeAndCheck(scenario, server.port);
    const load = {
      port: server.port,
      cookie,
      connections: settings.connections,
      cpus: settings.loadCpus,
      loader: context.loader,
    };

    if (settings.warmupSeconds > 0) {
      await runLoad({ ...load, durationSeconds: settings.warmupSeconds });
    }

    await server.startCpu();
    const result = await runLoad({ ...load, durationSeconds: settings.durationSeconds });
    const cpu = await server.stopCpu();

    if (result.errors > 0) {
      throw new Error(`${scenario.id}: ${result.errors} of ${result.requests} requests failed`);
    }
    if (result.requests === 0) throw new Error(`${scenario.id}: no request completed`);

    const cpuMicros = cpu.userMicros + cpu.systemMicros;
    return {
      ...result,
      cpuMicrosPerRequest: cpuMicros / result.requests,
      serverBusy: cpuMicros / 1000 / cpu.wallMillis,
      rss: cpu.rss,
    };
  } finally {
    await server.stop();
  }
}
