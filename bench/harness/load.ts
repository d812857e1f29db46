import { execFile, spawnSync } from "node:child_process";
import { join } from "node:path";

import { pinned } from "./server-process";
import { ROOT } from "./settings";

export interface LoadOptions {
  port: number;
  cookie: string | null;
  durationSeconds: number;
  connections: number;
  cpus: string | null;
  loader: "wrk" | "autocannon";
}

export interface LoadResult {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  p50Millis: number;
  p99Millis: number;
  /** Socket errors, timeouts and responses with a status other than 2xx or 3xx. */
  errors: number;
}

/** Picks wrk when it is on PATH, unless `preference` forces one. */
export function chooseLoader(preference: "wrk" | "autocannon" | "auto"): "wrk" | "autocannon" {
  if (preference !== "auto") return preference;

  const probe = spawnSync("wrk", ["--version"], { encoding: "utf8" });
  return probe.error ? "autocannon" : "wrk";
}

/** A child process's whole output, rejecting on a start failure or a time limit. */
function run(command: string, args: string[], timeoutMillis: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd: ROOT, timeout: timeoutMillis, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`${command} failed: ${error.message}\n${stderr}`));
          return;
        }
        resolve(stdout);
      },
    );
  });
}

/** Drives the server with wrk or autocannon for `durationSeconds`; one process, one thread. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  return options.loader === "wrk" ? runWrk(options) : runAutocannon(options);
}

async function runWrk(options: LoadOptions): Promise<LoadResult> {
  const args = [
    "-t1",
    `-c${options.connections}`,
    `-d${options.durationSeconds}s`,
    "--timeout",
    "5s",
    "-s",
    join(ROOT, "bench", "harness", "wrk-report.lua"),
  ];
  if (options.cookie) args.push("-H", `Cookie: ${options.cookie}`);
  args.push(`http://127.0.0.1:${options.port}/`);

  const [command, fullArgs] = pinned(options.cpus, "wrk", args);
  const output = await run(command, fullArgs, (options.durationSeconds + 30) * 1000);
  const line = output.split("\n").find((text) => text.startsWith("WRK_JSON "));
  if (!line) throw new Error(`wrk printed no report line:\n${output}`);

  const report = JSON.parse(line.slice("WRK_JSON ".length)) as Record<string, number>;
  const seconds = report.durationMicros / 1e6;
  const errors =
    report.connectErrors +
    report.readErrors +
    report.writeErrors +
    report.statusErrors +
    report.timeouts;

  return {
    requests: report.requests,
    seconds,
    requestsPerSecond: report.requests / seconds,
    p50Millis: report.p50Micros / 1000,
    p99Millis: report.p99Micros / 1000,
    errors,
  };
}

async function runAutocannon(options: LoadOptions): Promise<LoadResult> {
  const script = join(ROOT, "bench", "harness", "autocannon-child.ts");
  const nodeArgs = ["-r", "ts-node/register/transpile-only", script, JSON.stringify(options)];
  const [command, args] = pinned(options.cpus, process.execPath, nodeArgs);

  const output = await run(command, args, (options.durationSeconds + 30) * 1000);
  return JSON.parse(output.trim().split("\n").pop() ?? "") as LoadResult;
}
