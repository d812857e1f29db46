import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

import { ROOT } from "./settings";

export interface RedisHandle {
  url: string;
  stop(): Promise<void>;
}

interface RedisHelper {
  startRedisServer(): Promise<{ url: string; port: number; pid: number; stop(): Promise<void> }>;
}

const HELPER = join(ROOT, "spec", "helpers", "redis-server.ts");

/**
 * Starts a private redis-server through the spec helper and pins it to `cpus`. Returns the
 * reason as a string when Redis cannot be used, so its scenarios are skipped, not failed.
 */
export async function startRedis(cpus: string | null): Promise<RedisHandle | string> {
  if (spawnSync("redis-server", ["--version"]).error) return "redis-server is not on PATH";
  if (!existsSync(HELPER)) return "spec/helpers/redis-server.ts not found";

  const helper = (await import(HELPER)) as RedisHelper;
  const server = await helper.startRedisServer();
  if (cpus !== null) spawnSync("taskset", ["-p", "-c", cpus, String(server.pid)]);

  return { url: server.url, stop: () => server.stop() };
}
