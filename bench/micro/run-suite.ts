/**
 * Runs one micro benchmark file in a process of its own and sends its results to the harness
 * over IPC: `node ... run-suite.ts FILE TARGET_MILLIS`.
 */
import { resolve } from "node:path";

import { measureSuite, type MicroSuite } from "./measure";

async function main(): Promise<void> {
  const file = resolve(process.argv[2] ?? "");
  const targetMillis = Number(process.argv[3] ?? 600);
  const loaded = (await import(file)) as { suite?: MicroSuite };

  if (!loaded.suite) {
    throw new Error(
      `${file} exports no \`suite\`; export a MicroSuite from bench/micro/measure.ts`,
    );
  }

  const results = measureSuite(loaded.suite, targetMillis);
  process.send?.({ type: "micro", results }, undefined, {}, () => process.disconnect());
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
