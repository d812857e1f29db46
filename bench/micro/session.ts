/**
 * Micro benchmark of the client-side session codec: `dumpData` and `loadData` per operation
 * for a small and a ~3 KB session, beside raw node:crypto AES-GCM on the same bytes.
 *
 * Run: node -r ts-node/register/transpile-only bench/micro/session.ts
 * Each case runs for about BENCH_MS milliseconds (default 500) after a short warm-up.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { cpus } from "node:os";

import { silentLogger } from "../../lib/logger";
import { CookieBackendConfig } from "../../lib/middleware/session/client-side";

const BENCH_MS = Number(process.env.BENCH_MS ?? 500);
const WARMUP_MS = Math.min(200, BENCH_MS);
const BATCH = 256;

interface Result {
  name: string;
  operations: number;
  nsPerOperation: number;
}

/** Calls `fn` in batches until `durationMs` has passed; returns the operation count and time. */
function measure(fn: () => unknown, durationMs: number): { operations: number; ns: bigint } {
  const deadline = process.hrtime.bigint() + BigInt(durationMs) * 1_000_000n;
  const start = process.hrtime.bigint();
  let operations = 0;
  let now = start;

  while (now < deadline) {
    for (let i = 0; i < BATCH; i++) fn();
    operations += BATCH;
    now = process.hrtime.bigint();
  }

  return { operations, ns: now - start };
}

function bench(name: string, fn: () => unknown): Result {
  measure(fn, WARMUP_MS);
  const { operations, ns } = measure(fn, BENCH_MS);
  return { name, operations, nsPerOperation: Number(ns) / operations };
}

/**
 * AES-256-GCM of `plaintext` with the same associated data, as the raw floor. The nonce is
 * fixed, so this measures the cipher alone; never reuse a nonce outside a benchmark.
 */
function rawSeal(key: Buffer, nonce: Buffer, plaintext: Buffer, associatedData: Buffer): Buffer[] {
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  cipher.setAAD(associatedData);
  return [cipher.update(plaintext), cipher.final(), cipher.getAuthTag()];
}

function rawOpen(
  key: Buffer,
  nonce: Buffer,
  sealed: Buffer,
  tag: Buffer,
  associatedData: Buffer,
): Buffer {
  const decipher = createDecipheriv("aes-256-gcm", key, nonce);
  decipher.setAAD(associatedData);
  decipher.setAuthTag(tag);
  const plaintext = decipher.update(sealed);
  decipher.final();
  return plaintext;
}

function benchSession(label: string, data: Record<string, unknown>): Result[] {
  const secret = randomBytes(32);
  const backend = new CookieBackendConfig({ secret, logger: silentLogger, maxChunks: 4 }).backend;
  const chunks = backend.dumpData(data);
  const plaintext = Buffer.from(JSON.stringify(data));
  const associatedData = Buffer.from(`{"expires_at":${Math.round(Date.now() / 1000) + 1209600}}`);

  const nonce = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", secret, nonce);
  cipher.setAAD(associatedData);
  const sealed = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const tag = cipher.getAuthTag();

  const size = `${plaintext.length} B JSON, ${chunks.join("").length} B cookie`;
  return [
    bench(`dumpData ${label} (${size})`, () => backend.dumpData(data)),
    bench(`loadData ${label}`, () => backend.loadData(chunks)),
    bench(`raw AES-GCM seal ${label}`, () => rawSeal(secret, nonce, plaintext, associatedData)),
    bench(`raw AES-GCM open ${label}`, () => rawOpen(secret, nonce, sealed, tag, associatedData)),
  ];
}

function printTable(results: Result[]): void {
  const nameWidth = Math.max(...results.map((result) => result.name.length));
  const header = `${"case".padEnd(nameWidth)}  ${"ns/op".padStart(9)}  ${"ops/s".padStart(11)}`;

  process.stdout.write(`${header}\n${"-".repeat(header.length)}\n`);
  for (const result of results) {
    const opsPerSecond = Math.round(1e9 / result.nsPerOperation).toLocaleString("en-US");
    const ns = result.nsPerOperation.toFixed(0);
    process.stdout.write(
      `${result.name.padEnd(nameWidth)}  ${ns.padStart(9)}  ${opsPerSecond.padStart(11)}\n`,
    );
  }
}

function main(): void {
  const small = { count: 42, user: "ada" };
  const large = {
    user: "ada",
    roles: ["admin", "editor"],
    notes: randomBytes(1400).toString("hex"),
  };

  process.stdout.write(
    `Node ${process.version}, ${cpus()[0]?.model ?? "unknown CPU"}, ${BENCH_MS} ms per case\n\n`,
  );
  printTable([...benchSession("small", small), ...benchSession("3 KB", large)]);
}

main();
