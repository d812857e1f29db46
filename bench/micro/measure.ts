/**
 * A small timing loop for micro benchmarks. Each case is calibrated to about a tenth of the
 * target time per sample, then timed over several samples; the median sample is reported.
 *
 * A micro benchmark file exports `suite: MicroSuite` and ends with `runIfMain(module, suite)`,
 * so it runs alone with `node -r ts-node/register/transpile-only bench/micro/<file>.ts` and
 * inside `npm run bench`.
 */

export interface MicroCase {
  name: string;
  /** One operation; its return value is kept so the work cannot be optimised away. */
  run: () => unknown;
}

export interface MicroSuite {
  name: string;
  cases: MicroCase[];
}

export interface MicroResult {
  suite: string;
  name: string;
  opsPerSecond: number;
  nanosPerOp: number;
  /** Fastest and slowest sample, as nanoseconds per operation. */
  minNanos: number;
  maxNanos: number;
}

const SAMPLES = 7;
const MIN_BATCH_MILLIS = 1;

let sink: unknown;

function timeBatch(run: () => unknown, iterations: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sink = run();
  return Number(process.hrtime.bigint() - start);
}

/** Doubles the batch size until one batch lasts `sampleNanos`. */
function calibrate(run: () => unknown, sampleNanos: number): number {
  let iterations = 1;

  for (;;) {
    const elapsed = timeBatch(run, iterations);
    if (elapsed >= sampleNanos || iterations >= 1 << 30) return iterations;

    iterations *= 2;
  }
}

/** Times one case for about `targetMillis`. */
export function measureCase(suite: string, micro: MicroCase, targetMillis: number): MicroResult {
  const sampleNanos = Math.max(MIN_BATCH_MILLIS, targetMillis / (SAMPLES + 3)) * 1e6;
  const iterations = calibrate(micro.run, sampleNanos);
  const perOp: number[] = [];

  for (let i = 0; i < SAMPLES; i++) perOp.push(timeBatch(micro.run, iterations) / iterations);

  perOp.sort((a, b) => a - b);
  const median = perOp[Math.floor(perOp.length / 2)];
  if (sink === Symbol.for("never")) process.stdout.write("");

  return {
    suite,
    name: micro.name,
    opsPerSecond: 1e9 / median,
    nanosPerOp: median,
    minNanos: perOp[0],
    maxNanos: perOp[perOp.length - 1],
  };
}

export function measureSuite(suite: MicroSuite, targetMillis: number): MicroResult[] {
  return suite.cases.map((micro) => measureCase(suite.name, micro, targetMillis));
}

/** Runs the suite and prints a table when the file is run directly. */
export function runIfMain(module: NodeModule, suite: MicroSuite): void {
  if (require.main !== module) return;

  const targetMillis = Number(process.env.BENCH_MICRO_MILLIS ?? 600);
  for (const result of measureSuite(suite, targetMillis)) {
    const ops = Math.round(result.opsPerSecond).toLocaleString("en-US");
    process.stdout.write(
      `${suite.name} / ${result.name}: ${ops} ops/s, ${result.nanosPerOp.toFixed(0)} ns/op\n`,
    );
  }
}
