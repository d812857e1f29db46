import { execFile, spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { basename, join } from "node:path";

import type { MicroResult } from "../micro/measure";
import { pinned } from "./server-process";
import { ROOT, type BenchSettings } from "./settings";

const HELPER_FILES = new Set(["measure.ts", "run-suite.ts"]);
const MICRO_TIMEOUT_MS = 180_000;

/** The outcome of one micro benchmark file. */
export interface MicroFileOutcome {
  file: string;
  results: MicroResult[];
  /** Output of a file that exports no `suite` and was run as a plain script. */
  output: string | null;
  error: string | null;
}

/** Lists the micro benchmark files in bench/micro, in name order. */
export function listMicroFiles(): string[] {
  const directory = join(ROOT, "bench", "micro");

  return readdirSync(directory)
    .filter((name) => name.endsWith(".ts") && !HELPER_FILES.has(name))
    .sort()
    .map((name) => join(directory, name));
}

/** Runs each micro benchmark file in its own process on the server core. */
export async function runMicroBenchmarks(settings: BenchSettings): Promise<MicroFileOutcome[]> {
  const outcomes: MicroFileOutcome[] = [];

  for (const file of listMicroFiles()) {
    outcomes.push(await runMicroFile(file, settings));
  }

  return outcomes;
}

async function runMicroFile(file: string, settings: BenchSettings): Promise<MicroFileOutcome> {
  const name = `bench/micro/${basename(file)}`;

  try {
    return { file: name, results: await runSuite(file, settings), output: null, error: null };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (!message.includes("exports no `suite`")) {
      return { file: name, results: [], output: null, error: message };
    }
  }

  try {
    return { file: name, results: [], output: await runScript(file, settings), error: null };
  } catch (error) {
    return { file: name, results: [], output: null, error: String(error) };
  }
}

function runSuite(file: string, settings: BenchSettings): Promise<MicroResult[]> {
  const runner = join(ROOT, "bench", "micro", "run-suite.ts");
  const nodeArgs = [
    "-r",
    "ts-node/register/transpile-only",
    runner,
    file,
    String(settings.microMillis),
  ];
  const [command, args] = pinned(settings.serverCpus, process.execPath, nodeArgs);

  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ["ignore", "ignore", "pipe", "ipc"] });
    let stderr = "";
    let results: MicroResult[] | null = null;

    const timer = setTimeout(() => child.kill("SIGKILL"), MICRO_TIMEOUT_MS);
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("message", (message: { type: string; results: MicroResult[] }) => {
      if (message.type === "micro") results = message.results;
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (results) resolve(results);
      else reject(new Error(`exited with code ${code}: ${stderr.trim()}`));
    });
  });
}

function runScript(file: string, settings: BenchSettings): Promise<string> {
  const nodeArgs = ["-r", "ts-node/register/transpile-only", file];
  const [command, args] = pinned(settings.serverCpus, process.execPath, nodeArgs);
  const millis = String(settings.microMillis);
  // bench/micro/session.ts reads BENCH_MS; the files built on measure.ts read BENCH_MICRO_MILLIS.
  const env = { ...process.env, BENCH_MICRO_MILLIS: millis, BENCH_MS: millis };

  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd: ROOT, env, timeout: MICRO_TIMEOUT_MS }, (error, stdout) => {
      if (error) reject(error);
      else resolve(stdout.trim());
    });
  });
}
