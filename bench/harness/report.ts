import type { BenchResults, ScenarioSummary, TargetOutcome } from "./results";
import type { Spread } from "./stats";

export const PROFILE_START = "<!-- profile:start -->";
export const PROFILE_END = "<!-- profile:end -->";

const PROFILE_PLACEHOLDER = [
  PROFILE_START,
  "No profile has been recorded on this page yet. `npm run bench:profile -- <scenario>` runs one",
  "scenario's server under `node --cpu-prof` and prints the functions with the most self time.",
  PROFILE_END,
].join("\n");

const MB = 1024 * 1024;

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "n/a";
}

function whole(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "n/a";
}

function megabytes(bytes: number): string {
  return fixed(bytes / MB, 1);
}

function withRange(spread: Spread, format: (value: number) => string): string {
  return `${format(spread.median)} (${format(spread.min)}–${format(spread.max)})`;
}

/** Renders one Markdown table row. */
function tableRow(cells: string[]): string {
  return `| ${cells.join(" | ")} |`;
}

function ratio(value: number | null): string {
  return value === null ? "–" : `${value.toFixed(2)}x`;
}

/** Keeps the profile section of an existing page, which only a person fills in. */
export function extractProfileSection(existing: string | null): string {
  if (existing === null) return PROFILE_PLACEHOLDER;

  const start = existing.indexOf(PROFILE_START);
  const end = existing.indexOf(PROFILE_END);
  if (start === -1 || end === -1 || end < start) return PROFILE_PLACEHOLDER;

  return existing.slice(start, end + PROFILE_END.length);
}

function machineSection(results: BenchResults): string[] {
  const { machine, tools } = results;

  return [
    "## Machine",
    "",
    `- CPU: ${machine.cpuModel}, ${machine.cores} cores`,
    `- Memory: ${(machine.memoryBytes / 1024 ** 3).toFixed(1)} GiB`,
    `- Node.js ${machine.node} on ${machine.platform}`,
    `- Open-file limit (\`ulimit -n\`): ${machine.openFileLimit}`,
    `- Load generator: ${tools.loader} (${tools.loaderVersion})`,
    `- Redis: ${tools.redis}`,
    `- Run finished: ${results.generatedAt}${results.smoke ? " (smoke run)" : ""}`,
    "- One-minute load average at start and end of the run: " +
      `${fixed(results.loadAverage.start, 2)} and ${fixed(results.loadAverage.end, 2)}. ` +
      "Values well above 0 mean other processes competed for the CPUs, which lowers req/s " +
      "and server busy.",
    "",
    "| Package | Version |",
    "| --- | --- |",
    ...Object.entries(results.packages).map(([name, version]) => `| ${name} | ${version} |`),
    "",
  ];
}

function methodSection(results: BenchResults): string[] {
  const settings = results.settings;
  const pinning =
    settings.serverCpus === null
      ? "The machine has one core, so nothing is pinned and server and load generator compete."
      : `Each server is pinned with \`taskset\` to CPU ${settings.serverCpus} and the load ` +
        `generator to CPU ${settings.loadCpus}. Redis, when used, shares the server's CPU, ` +
        "and its own CPU time is not counted.";

  return [
    "## Method",
    "",
    "- `npm run bench` (`bench/run.ts`) starts each scenario's server as a child process on " +
      "127.0.0.1, port 0, one server at a time. The server reports its port and its own CPU " +
      "time (`process.cpuUsage()`) to the harness over IPC.",
    `- ${pinning}`,
    `- The load generator holds ${settings.connections} keep-alive connections on one thread, ` +
      "without pipelining, and sends `GET /`.",
    `- ${settings.rounds} rounds, interleaved round-robin across scenarios. Each round starts a ` +
      `fresh server, checks it, loads it for ${settings.warmupSeconds} s unmeasured, then ` +
      `${settings.durationSeconds} s measured. Tables show the median of the rounds, with the ` +
      "minimum and maximum in brackets.",
    "- Session scenarios: the harness sends one request without a cookie, takes the session " +
      "cookie from its `Set-Cookie`, and replays it. Before measuring it checks that a replayed " +
      "request returns the expected counter and sends (counter) or does not send (read-only) a " +
      "new `Set-Cookie`; any mismatch fails the scenario. So every measured request decodes the " +
      "session, and the counter scenarios encode it again.",
    "- CPU µs per request is the server's user + system CPU time during the measured run " +
      "divided by the requests served. Server busy is that CPU time over wall time: well below " +
      "100 % means the load generator set the pace or other processes took the server's CPU.",
    "- RSS is the server's resident set size right after the measured run.",
    "- Any failed request (socket error, timeout, status other than 2xx or 3xx) fails the " +
      "scenario.",
    "",
  ];
}

function scenarioRow(scenario: ScenarioSummary): string {
  if (scenario.status !== "measured") {
    return `| ${scenario.label} | ${scenario.status}: ${scenario.reason ?? ""} | | | | | | | | |`;
  }

  return [
    "",
    scenario.label,
    withRange(scenario.requestsPerSecond, whole),
    fixed(scenario.p50Millis.median, 2),
    fixed(scenario.p99Millis.median, 2),
    withRange(scenario.cpuMicrosPerRequest, (value) => fixed(value, 1)),
    whole(1e6 / scenario.cpuMicrosPerRequest.median),
    `${fixed(scenario.serverBusy.median * 100, 0)} %`,
    megabytes(scenario.rss.median),
    ratio(scenario.ratioToRaw),
    ratio(scenario.ratioToFastify),
    "",
  ]
    .join(" | ")
    .trim();
}

function resultsSection(results: BenchResults): string[] {
  return [
    "## Results",
    "",
    "![Requests per second per scenario](benchmarks.svg)",
    "",
    tableRow([
      "Scenario",
      "req/s",
      "p50 ms",
      "p99 ms",
      "CPU µs/req",
      "req/s per core, estimate",
      "server busy",
      "RSS MB",
      "vs raw uWS",
      "vs fastify, same work",
    ]),
    tableRow(Array(10).fill("---")),
    ...results.scenarios.map(scenarioRow),
    "",
    '"vs fastify, same work" divides by fastify + @fastify/secure-session doing the same ' +
      "session work (counter, read-only or ~3 KB); the server-side rows use its counter.",
    "",
  ];
}

function targetRow(target: TargetOutcome): string {
  let status = "not measured";
  if (target.met !== null) status = target.met ? "met" : "not met";

  const threshold = `${target.comparison} ${target.threshold}x`;
  return tableRow([target.description, threshold, ratio(target.ratio), status]);
}

/**
 * Server busy below this means the server was not the limit: the load generator or other
 * processes were.
 */
const SATURATED_BUSY = 0.9;

function loadLimitNotes(results: BenchResults): string[] {
  const limited = results.scenarios.filter(
    (scenario) => scenario.status === "measured" && scenario.serverBusy.median < SATURATED_BUSY,
  );

  return limited.map(
    (scenario) =>
      `- ${scenario.label} kept its server core only ` +
      `${fixed(scenario.serverBusy.median * 100, 0)} % busy: the load generator set its pace, ` +
      "or other processes took CPU time (see the load average). Its req/s is below what the " +
      "server could serve, so a ratio that divides by it is overstated.",
  );
}

function targetsSection(results: BenchResults): string[] {
  const notes = loadLimitNotes(results);

  return [
    "## Targets",
    "",
    "Each target is checked against the medians of this run.",
    "",
    "| Target | Threshold | Measured | Status |",
    "| --- | --- | --- | --- |",
    ...results.targets.map(targetRow),
    "",
    ...notes,
    ...(notes.length > 0 ? [""] : []),
  ];
}

function rssSection(results: BenchResults): string[] {
  const outcome = results.rssOverRequests;
  const lines = ["## Memory", "", `### RSS over requests (${outcome.scenario})`, ""];

  if (outcome.status !== "measured") {
    return [...lines, `${outcome.status}: ${outcome.reason}`, ""];
  }

  return [
    ...lines,
    `${whole(outcome.requests)} requests in ${fixed(outcome.seconds, 0)} s on one server, ` +
      "sampled after each load segment: RSS as the load left it, then RSS and used heap after " +
      "two forced garbage collections. Sample " +
      `${outcome.referenceIndex + 1} is the reference, because the first segment includes ` +
      "start-up and JIT warm-up. From the reference on, RSS after collection stays within " +
      `${fixed(outcome.maxDeviation * 100, 1)} % of it and ends ` +
      `${fixed(outcome.growth * 100, 1)} % from it, so it is ` +
      `${outcome.flat ? "flat" : "not flat"} (flat means every sample within 5 %).`,
    "",
    "| Requests | Seconds | RSS under load MB | RSS after GC MB | Heap used after GC MB |",
    "| --- | --- | --- | --- | --- |",
    ...outcome.samples.map((sample) =>
      tableRow([
        whole(sample.requests),
        fixed(sample.seconds, 0),
        megabytes(sample.rssUnderLoad),
        megabytes(sample.rss),
        megabytes(sample.heapUsed),
      ]),
    ),
    "",
  ];
}

function webSocketSection(results: BenchResults): string[] {
  const rows = results.webSockets.map((outcome) => {
    if (outcome.status !== "measured")
      return `| ${outcome.label} | ${outcome.status}: ${outcome.reason} | | | | |`;

    const opened = `${whole(outcome.opened)} of ${whole(outcome.requested)}`;
    const perSocket = fixed(outcome.bytesPerSocket / 1024, 2);
    const heapPerSocket = fixed(outcome.heapBytesPerSocket / 1024, 2);
    const rss = `${megabytes(outcome.rssBefore)} → ${megabytes(outcome.rssAfter)}`;
    return tableRow([
      outcome.label,
      opened,
      fixed(outcome.seconds, 1),
      rss,
      perSocket,
      heapPerSocket,
    ]);
  });
  const errors = results.webSockets
    .flatMap((outcome) => (outcome.status === "measured" && outcome.firstError ? [outcome] : []))
    .map((outcome) => `- ${outcome.label}: first socket error: ${outcome.firstError}`);

  return [
    "### Idle WebSockets",
    "",
    "A client process on the load CPU opens the sockets in batches, each with the session " +
      "cookie where the server has sessions, and waits for the session counter the server " +
      "sends after accepting. Memory is read after two full garbage collections (`--expose-gc`), " +
      "before the first socket and with all sockets open. RSS leaves out kernel socket " +
      "buffers, and memory that the allocator reuses from earlier frees does not show as " +
      "growth, so the per-socket figures may understate what a socket costs.",
    "",
    tableRow([
      "Server",
      "Sockets open",
      "Seconds to open",
      "RSS MB",
      "KiB RSS per socket",
      "KiB heap per socket",
    ]),
    "| --- | --- | --- | --- | --- | --- |",
    ...rows,
    "",
    ...errors,
    ...(errors.length > 0 ? [""] : []),
  ];
}

function microSection(results: BenchResults): string[] {
  const lines = [
    "## Micro benchmarks",
    "",
    "Each file in `bench/micro/` runs in its own process on the server CPU. A case is timed in " +
      "7 batches; the table shows the median batch with the fastest and slowest in brackets.",
    "",
  ];

  for (const outcome of results.micro) {
    lines.push(`### ${outcome.file}`, "");

    if (outcome.error) {
      lines.push(`failed: ${outcome.error}`, "");
      continue;
    }
    if (outcome.output !== null) {
      lines.push("```", outcome.output, "```", "");
      continue;
    }

    lines.push("| Case | ops/s | ns/op |", "| --- | --- | --- |");
    for (const result of outcome.results) {
      lines.push(
        tableRow([
          result.name,
          whole(result.opsPerSecond),
          withRange(
            { median: result.nanosPerOp, min: result.minNanos, max: result.maxNanos },
            (value) => fixed(value, 0),
          ),
        ]),
      );
    }
    lines.push("");
  }

  return lines;
}

/** Renders docs/benchmarks.md from one run's results. */
export function renderReport(results: BenchResults, profileSection: string): string {
  const failures =
    results.failures.length === 0
      ? []
      : ["## Failures", "", ...results.failures.map((failure) => `- ${failure}`), ""];

  return [
    "# Benchmarks",
    "",
    "Throughput, latency, CPU and memory of this library's session layer on uWebSockets.js, " +
      "side by side with raw uWebSockets.js and with the session libraries Node users would " +
      "pick instead. This page is generated by `npm run bench` from `bench/results/latest.json`; " +
      "only the profile section is written by hand.",
    "",
    `Run it with \`npm run bench\` (this run took ${fixed(results.runSeconds / 60, 1)} minutes), ` +
      "or `npm run bench:smoke` for a one-second check that writes to a temporary directory. " +
      "Environment variables change the run: `BENCH_DURATION`, `BENCH_WARMUP` (seconds), " +
      "`BENCH_ROUNDS`, `BENCH_CONNECTIONS`, `BENCH_ONLY` (scenario ids, comma-separated), " +
      "`BENCH_OUT_DIR`, `BENCH_LOADER` (`wrk` or `autocannon`) and the memory and micro " +
      "settings listed in `bench/harness/settings.ts`. `npm run bench:profile -- <scenario>` " +
      "profiles one scenario's server.",
    "",
    ...machineSection(results),
    ...methodSection(results),
    ...resultsSection(results),
    ...targetsSection(results),
    ...rssSection(results),
    ...webSocketSection(results),
    ...microSection(results),
    ...failures,
    "## Profile",
    "",
    profileSection,
    "",
  ].join("\n");
}
