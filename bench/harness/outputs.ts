import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { format, resolveConfig } from "prettier";

import { renderChart } from "./chart";
import { extractProfileSection, renderReport } from "./report";
import type { BenchResults } from "./results";

/**
 * Writes latest.json into `resultsDir` and benchmarks.md and benchmarks.svg into `docsDir`,
 * keeping the hand-written profile section of an existing page. The page goes through the
 * project's Prettier settings, so `npm run lint` accepts it. Returns the written paths.
 */
export async function writeOutputs(
  results: BenchResults,
  resultsDir: string,
  docsDir: string,
): Promise<string[]> {
  mkdirSync(resultsDir, { recursive: true });
  mkdirSync(docsDir, { recursive: true });

  const jsonPath = join(resultsDir, "latest.json");
  const pagePath = join(docsDir, "benchmarks.md");
  const chartPath = join(docsDir, "benchmarks.svg");
  const existingPage = existsSync(pagePath) ? readFileSync(pagePath, "utf8") : null;
  const { machine } = results;
  const caption = [
    machine.cpuModel,
    `${machine.cores} cores`,
    `Node ${machine.node}`,
    results.generatedAt,
  ].join(", ");

  writeFileSync(jsonPath, JSON.stringify(results, null, 2) + "\n");
  const page = renderReport(results, extractProfileSection(existingPage));
  const prettierOptions = (await resolveConfig(pagePath)) ?? {};
  writeFileSync(pagePath, await format(page, { ...prettierOptions, parser: "markdown" }));
  writeFileSync(chartPath, renderChart(results.scenarios, caption));

  return [jsonPath, pagePath, chartPath];
}
