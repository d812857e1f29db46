/**
 * A fixed 32-byte key shared by the benchmark servers. Fixed, so a session cookie stays valid
 * across restarts of a scenario's server; never use a constant key outside a benchmark.
 */
export const BENCH_SECRET = Buffer.from("0123456789abcdef0123456789abcdef", "latin1");

/** The same key as text, for libraries that take a string secret. */
export const BENCH_SECRET_TEXT = BENCH_SECRET.toString("latin1");
