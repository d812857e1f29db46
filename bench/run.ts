/**
 * Runs every benchmark scenario, the memory runs and the micro benchmarks, then writes
 * bench/results/latest.json, docs/benchmarks.md and docs/benchmarks.svg. See docs/benchmarks.md
 * for the method and the environment variables that tune a run.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";

import { describeMachine, describePackages } from "./harness/environment";
import { chooseLoader } from "./harness/load";
import {
  measureRssOverRequests,
  measureWebSocketMemory,
  type WebSocketTarget,
} from "./harness/memory";
import { runMicroBenchmarks } from "./harness/micro";
import { startRedis, type RedisHandle } from "./harness/redis";
import { writeOutputs } from "./harness/outputs";
import type {
  BenchResults,
  RssOutcome,
  ScenarioSummary,
  TargetOutcome,
  WebSocketOutcome,
} from "./harness/results";
import { runScenarioRound, type RoundContext, type RoundResult } from "./harness/scenario-round";
import { FASTIFY_COUNTER_ID, RAW_UWS_ID, SCENARIOS, type Scenario } from "./harness/scenarios";
import { readSettings, ROOT, type BenchSettings } from "./harness/settings";
import { spreadOf } from "./harness/stats";

function log(message: string): void {
  process.stdout.write(`[bench] ${message}\n`);
}

function missingFiles(scenario: Scenario): string[] {
  return scenario.requires.filter((file) => !existsSync(join(ROOT, file)));
}

function toolVersion(command: string, args: string[]): string {
  const probe = spawnSync(command, args, { encoding: "utf8" });
  if (probe.error) return "not installed";

  return (probe.stdout || probe.stderr).split("\n")[0].trim();
}

interface ScenarioState {
  scenario: Scenario;
  rounds: RoundResult[];
  status: ScenarioSummary["status"];
  reason: string | null;
}

function planScenarios(settings: BenchSettings, redis: RedisHandle | string): ScenarioState[] {
  const known = new Set(SCENARIOS.map((scenario) => scenario.id));
  const unknown = settings.only.filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new Error(
      `BENCH_ONLY names unknown scenarios ${unknown.join(", ")}; known: ${[...known].join(", ")}`,
    );
  }

  const selected =
    settings.only.length === 0
      ? SCENARIOS
      : SCENARIOS.filter((scenario) => settings.only.includes(scenario.id));

  return selected.map((scenario) => {
    const missing = missingFiles(scenario);
    let reason: string | null = null;

    if (missing.length > 0) reason = `${missing.join(", ")} not found`;
    else if (scenario.needsRedis && typeof redis === "string") reason = redis;

    return { scenario, rounds: [], status: reason ? "skipped" : "measured", reason };
  });
}

async function runRounds(states: ScenarioState[], context: RoundContext): Promise<void> {
  const rounds = context.settings.rounds;

  for (let round = 1; round <= rounds; round++) {
    for (const state of states) {
      if (state.status !== "measured") continue;

      try {
        const result = await runScenarioRound(state.scenario, context);
        state.rounds.push(result);
        log(
          `round ${round}/${rounds} ${state.scenario.id}: ` +
            `${Math.round(result.requestsPerSecond)} req/s, ` +
            `${result.cpuMicrosPerRequest.toFixed(1)} µs CPU/req, ` +
            `p99 ${result.p99Millis.toFixed(2)} ms`,
        );
      } catch (error) {
        state.status = "failed";
        state.reason = error instanceof Error ? error.message : String(error);
        log(`FAILED ${state.scenario.id}: ${state.reason}`);
      }
    }
  }
}

function summarize(states: ScenarioState[]): ScenarioSummary[] {
  const medianRate = (id: string): number | null => {
    const state = states.find((candidate) => candidate.scenario.id === id);
    if (!state || state.status !== "measured") return null;

    return spreadOf(state.rounds.map((round) => round.requestsPerSecond)).median;
  };
  const raw = medianRate(RAW_UWS_ID);

  return states.map(({ scenario, rounds, status, reason }) => {
    const rate = spreadOf(rounds.map((round) => round.requestsPerSecond));
    const peer = scenario.fastifyPeer ? medianRate(scenario.fastifyPeer) : null;
    const measured = status === "measured";

    return {
      id: scenario.id,
      label: scenario.label,
      group: scenario.group,
      status,
      reason,
      rounds,
      requestsPerSecond: rate,
      p50Millis: spreadOf(rounds.map((round) => round.p50Millis)),
      p99Millis: spreadOf(rounds.map((round) => round.p99Millis)),
      cpuMicrosPerRequest: spreadOf(rounds.map((round) => round.cpuMicrosPerRequest)),
      serverBusy: spreadOf(rounds.map((round) => round.serverBusy)),
      rss: spreadOf(rounds.map((round) => round.rss)),
      ratioToRaw: measured && raw ? rate.median / raw : null,
      ratioToFastify: measured && peer ? rate.median / peer : null,
      fastifyPeer: scenario.fastifyPeer ?? null,
    };
  });
}

function checkTargets(summaries: ScenarioSummary[]): TargetOutcome[] {
  const find = (id: string) =>
    summaries.find((summary) => summary.id === id && summary.status === "measured");

  const target = (
    description: string,
    comparison: TargetOutcome["comparison"],
    threshold: number,
    compute: () => number | null,
  ): TargetOutcome => {
    const value = compute();
    let met: boolean | null = null;
    if (value !== null) met = comparison === "at most" ? value <= threshold : value >= threshold;

    return { description, ratio: value, threshold, comparison, met };
  };

  const ratioOf = (
    id: string,
    baseId: string,
    field: "requestsPerSecond" | "cpuMicrosPerRequest",
  ) => {
    const scenario = find(id);
    const base = find(baseId);
    return scenario && base ? scenario[field].median / base[field].median : null;
  };

  return [
    target(
      "serve() ASGI hello CPU per request / raw uWS hello CPU per request",
      "at most",
      1.5,
      () => ratioOf("serve-hello", RAW_UWS_ID, "cpuMicrosPerRequest"),
    ),
    target(
      "client-side session counter req/s / fastify + secure-session counter req/s",
      "at least",
      2.5,
      () => ratioOf("client-side-counter", FASTIFY_COUNTER_ID, "requestsPerSecond"),
    ),
    target("client-side read-only session req/s / raw uWS hello req/s", "at least", 0.5, () =>
      ratioOf("client-side-read", RAW_UWS_ID, "requestsPerSecond"),
    ),
    target(
      "~3 KB client-side session counter req/s / fastify + secure-session ~3 KB req/s",
      "at least",
      2,
      () => ratioOf("client-side-3kb", "fastify-secure-session-3kb", "requestsPerSecond"),
    ),
  ];
}

async function runRssOverRequests(
  settings: BenchSettings,
  loader: "wrk" | "autocannon",
): Promise<RssOutcome> {
  const scenario = SCENARIOS.find((candidate) => candidate.id === "client-side-counter")!;
  const missing = missingFiles(scenario);
  if (missing.length > 0) {
    return { status: "skipped", scenario: scenario.id, reason: `${missing.join(", ")} not found` };
  }

  try {
    log(`RSS over ${settings.memoryRequests.toLocaleString("en-US")} requests on ${scenario.id}`);
    return {
      status: "measured",
      ...(await measureRssOverRequests(scenario, settings, loader, {})),
    };
  } catch (error) {
    return { status: "failed", scenario: scenario.id, reason: String(error) };
  }
}

function webSocketTargets(): WebSocketTarget[] {
  const sessionScenario = SCENARIOS.find((candidate) => candidate.id === "client-side-counter")!;

  return [
    {
      id: "uws-raw-websocket",
      label: "raw uWS, no session",
      server: "uws-raw",
      variant: "hello",
      sessionScenario: null,
      expectedMessage: null,
    },
    {
      id: "client-side-websocket",
      label: "serve() + client-side session",
      server: "asgi",
      variant: "client-websocket",
      sessionScenario: { ...sessionScenario, variant: "client-websocket" },
      // The priming request stored 1 and the check stored 2, but the replayed cookie contains 1.
      expectedMessage: "1",
    },
  ];
}

async function runWebSocketMemory(settings: BenchSettings): Promise<WebSocketOutcome[]> {
  const outcomes: WebSocketOutcome[] = [];

  for (const target of webSocketTargets()) {
    const missing = target.sessionScenario ? missingFiles(target.sessionScenario) : [];
    if (missing.length > 0) {
      outcomes.push({
        status: "skipped",
        scenario: target.id,
        label: target.label,
        reason: `${missing.join(", ")} not found`,
      });
      continue;
    }

    try {
      log(`${settings.sockets.toLocaleString("en-US")} idle WebSockets on ${target.id}`);
      outcomes.push({ status: "measured", ...(await measureWebSocketMemory(target, settings)) });
    } catch (error) {
      outcomes.push({
        status: "failed",
        scenario: target.id,
        label: target.label,
        reason: String(error),
      });
    }
  }

  return outcomes;
}

function collectFailures(
  results: Omit<BenchResults, "failures" | "loadAverage" | "runSeconds">,
): string[] {
  const failures: string[] = [];

  for (const scenario of results.scenarios) {
    if (scenario.status === "failed") failures.push(`${scenario.id}: ${scenario.reason}`);
  }
  if (results.rssOverRequests.status === "failed") {
    failures.push(`RSS over requests: ${results.rssOverRequests.reason}`);
  }
  for (const outcome of results.webSockets) {
    if (outcome.status === "failed")
      failures.push(`WebSockets ${outcome.scenario}: ${outcome.reason}`);
    if (outcome.status === "measured" && outcome.failed > 0) {
      failures.push(
        `WebSockets ${outcome.scenario}: ${outcome.failed} sockets failed: ${outcome.firstError}`,
      );
    }
  }
  for (const outcome of results.micro) {
    if (outcome.error) failures.push(`${outcome.file}: ${outcome.error}`);
  }

  return failures;
}

async function main(): Promise<void> {
  const startedAt = performance.now();
  const loadAtStart = loadavg()[0];
  const settings = readSettings();
  const loader = chooseLoader(settings.loader);
  const redis = await startRedis(settings.serverCpus);
  const serverEnv: Record<string, string> =
    typeof redis === "string" ? {} : { BENCH_REDIS_URL: redis.url };

  try {
    const states = planScenarios(settings, redis);
    log(
      `${states.length} scenarios, ${settings.rounds} rounds of ` +
        `${settings.durationSeconds} s, loader ${loader}`,
    );

    await runRounds(states, { settings, loader, serverEnv });
    const scenarios = summarize(states);
    const partial = {
      generatedAt: new Date().toISOString(),
      smoke: settings.smoke,
      machine: describeMachine(),
      packages: describePackages(),
      tools: {
        loader,
        loaderVersion:
          loader === "wrk" ? toolVersion("wrk", ["--version"]) : describePackages().autocannon,
        redis: typeof redis === "string" ? redis : toolVersion("redis-server", ["--version"]),
      },
      settings: {
        durationSeconds: settings.durationSeconds,
        warmupSeconds: settings.warmupSeconds,
        rounds: settings.rounds,
        connections: settings.connections,
        serverCpus: settings.serverCpus,
        loadCpus: settings.loadCpus,
      },
      scenarios,
      targets: checkTargets(scenarios),
      rssOverRequests: await runRssOverRequests(settings, loader),
      webSockets: await runWebSocketMemory(settings),
      micro: await runMicroBenchmarks(settings),
    };
    const results: BenchResults = {
      ...partial,
      loadAverage: { start: loadAtStart, end: loadavg()[0] },
      runSeconds: (performance.now() - startedAt) / 1000,
      failures: collectFailures(partial),
    };

    const written = await writeOutputs(results, settings.resultsDir, settings.docsDir);
    log(`wrote ${written.join(", ")}`);
    for (const failure of results.failures) log(`FAILED ${failure}`);
    if (results.failures.length > 0) process.exitCode = 1;
  } finally {
    if (typeof redis !== "string") await redis.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `[bench] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
