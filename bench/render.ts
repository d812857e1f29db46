/**
 * Renders docs/benchmarks.md and docs/benchmarks.svg again from bench/results/latest.json,
 * without measuring: `node -r ts-node/register/transpile-only bench/render.ts`. Useful after a
 * change to the page's layout; the numbers stay those of the last `npm run bench`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { writeOutputs } from "./harness/outputs";
import type { BenchResults } from "./harness/results";
import { ROOT } from "./harness/settings";

const resultsDir = join(ROOT, "bench", "results");
const results = JSON.parse(readFileSync(join(resultsDir, "latest.json"), "utf8")) as BenchResults;

async function main(): Promise<void> {
  for (const path of await writeOutputs(results, resultsDir, join(ROOT, "docs"))) {
    process.stdout.write(`wrote ${path}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
