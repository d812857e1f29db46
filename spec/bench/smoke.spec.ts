import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { parseCookieHeader } from "../../lib/datastructures/cookie-parser";
import { topSelfTime } from "../../bench/harness/cpuprofile";
import type { BenchResults } from "../../bench/harness/results";
import { spreadOf } from "../../bench/harness/stats";
import { COOKIE_HEADER_FIXTURES } from "../../bench/fixtures/cookie-headers";

const ROOT = resolve(__dirname, "..", "..");
const SMOKE_TIMEOUT_MS = 90_000;

interface RunOutput {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `npm run bench:smoke`'s command, killing it if it outlives the test's time limit. */
function runSmoke(): Promise<RunOutput> {
  return new Promise((resolvePromise, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, BENCH_SMOKE: "1" };
    delete env.BENCH_OUT_DIR;

    const child = spawn(
      process.execPath,
      ["-r", "ts-node/register/transpile-only", join(ROOT, "bench", "run.ts")],
      {
        cwd: ROOT,
        env,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";

    const timer = setTimeout(() => child.kill("SIGKILL"), SMOKE_TIMEOUT_MS - 5_000);
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

describe("bench smoke run", function () {
  this.timeout(SMOKE_TIMEOUT_MS);

  let run: RunOutput;
  let outputDir: string | null = null;

  before(async () => {
    run = await runSmoke();
    const written = /wrote (\S+)\/latest\.json/.exec(run.stdout);
    outputDir = written ? written[1] : null;
  });

  after(() => {
    if (outputDir && outputDir.startsWith(tmpdir())) rmSync(outputDir, { recursive: true });
  });

  it("exits with code 0", () => {
    expect(run.code, run.stdout + run.stderr).to.equal(0);
  });

  it("writes to a temporary directory", () => {
    expect(outputDir, run.stdout).to.be.a("string");
    expect(outputDir!.startsWith(tmpdir())).to.equal(true);
  });

  it("measures every scenario", () => {
    const results = JSON.parse(
      readFileSync(join(outputDir!, "latest.json"), "utf8"),
    ) as BenchResults;

    expect(results.failures).to.deep.equal([]);
    for (const scenario of results.scenarios) {
      // The harness skips Redis scenarios, with this reason, on machines without Redis.
      if (scenario.reason === "redis-server is not on PATH") continue;

      expect(scenario.status, `${scenario.id}: ${scenario.reason}`).to.equal("measured");
      expect(scenario.rounds[0].requests, scenario.id).to.be.greaterThan(0);
      expect(scenario.cpuMicrosPerRequest.median, scenario.id).to.be.greaterThan(0);
    }
  });

  it("reports memory and targets", () => {
    const results = JSON.parse(
      readFileSync(join(outputDir!, "latest.json"), "utf8"),
    ) as BenchResults;

    expect(results.rssOverRequests.status).to.equal("measured");
    expect(results.webSockets.map((outcome) => outcome.status)).to.deep.equal([
      "measured",
      "measured",
    ]);
    expect(results.targets.map((target) => target.met)).to.not.include(null);
  });

  it("renders the page and chart", () => {
    const page = readFileSync(join(outputDir!, "benchmarks.md"), "utf8");
    const chart = readFileSync(join(outputDir!, "benchmarks.svg"), "utf8");

    expect(page).to.include("## Targets");
    expect(page).to.include("<!-- profile:start -->");
    expect(chart.startsWith("<svg ")).to.equal(true);
    expect(chart).to.include("raw uWS, hello");
  });
});

describe("bench cookie fixtures", () => {
  for (const fixture of COOKIE_HEADER_FIXTURES) {
    it(`parses ${fixture.name}`, () => {
      const cookies = parseCookieHeader(fixture.header);

      expect(Object.keys(cookies)).to.deep.equal(fixture.expectedNames);
    });
  }
});

describe("bench spreadOf", () => {
  it("returns median, min and max", () => {
    expect(spreadOf([3, 1, 2])).to.deep.equal({ median: 2, min: 1, max: 3 });
  });

  it("averages the middle pair", () => {
    expect(spreadOf([4, 1, 3, 2]).median).to.equal(2.5);
  });
});

describe("bench topSelfTime", () => {
  let directory: string;

  before(() => {
    directory = mkdtempSync(join(tmpdir(), "cpuprofile-spec-"));
  });

  after(() => rmSync(directory, { recursive: true }));

  it("charges time to the sampled frame", () => {
    const frame = (functionName: string, lineNumber: number) => ({
      functionName,
      url: "file:///app/server.js",
      lineNumber,
      columnNumber: 0,
    });
    const profile = {
      nodes: [
        { id: 1, callFrame: frame("(root)", 0) },
        { id: 2, callFrame: frame("parse", 9) },
        { id: 3, callFrame: frame("(idle)", 0) },
      ],
      startTime: 0,
      endTime: 100,
      samples: [2, 2, 3, 2],
      timeDeltas: [0, 10, 30, 20],
    };
    const file = join(directory, "synthetic.cpuprofile");
    writeFileSync(file, JSON.stringify(profile));

    const summary = topSelfTime(file, 5);

    expect(summary.busyMicros).to.equal(10 + 30);
    expect(summary.idleMicros).to.equal(20);
    expect(summary.entries).to.have.length(1);
    expect(summary.entries[0].functionName).to.equal("parse");
    expect(summary.entries[0].location).to.equal("/app/server.js:10");
  });

  it("names TypeScript files without lines", () => {
    const profile = {
      nodes: [
        {
          id: 1,
          callFrame: {
            functionName: "handle",
            url: "file:///app/base.ts",
            lineNumber: 9,
            columnNumber: 0,
          },
        },
      ],
      startTime: 0,
      endTime: 10,
      samples: [1, 1],
      timeDeltas: [0, 10],
    };
    const file = join(directory, "typescript.cpuprofile");
    writeFileSync(file, JSON.stringify(profile));

    const summary = topSelfTime(file, 5);

    expect(summary.entries[0].location).to.equal("/app/base.ts");
    expect(summary.entries[0].share).to.equal(1);
  });
});
