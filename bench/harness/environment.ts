import { readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";

import { ROOT } from "./settings";

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  node: string;
  platform: string;
  /** Open-file limit of the harness, inherited by its children; caps the WebSocket run. */
  openFileLimit: string;
}

function readLimit(): string {
  try {
    const limits = readFileSync("/proc/self/limits", "utf8");
    const line = limits.split("\n").find((text) => text.startsWith("Max open files"));
    return line ? line.split(/\s{2,}/)[1] : "unknown";
  } catch {
    return "unknown";
  }
}

export function describeMachine(): MachineInfo {
  return {
    cpuModel: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memoryBytes: totalmem(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    openFileLimit: readLimit(),
  };
}

/** Installed versions of the server libraries, read from their package.json files. */
export function describePackages(): Record<string, string> {
  const names = [
    "uWebSockets.js",
    "fastify",
    "@fastify/secure-session",
    "express",
    "cookie-session",
    "express-session",
    "ioredis",
    "ws",
    "autocannon",
  ];
  const versions: Record<string, string> = {};

  for (const name of names) {
    try {
      const manifest = JSON.parse(
        readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8"),
      ) as { name: string; version: string };
      versions[name] =
        name === manifest.name ? manifest.version : `${manifest.name}@${manifest.version}`;
    } catch {
      versions[name] = "not installed";
    }
  }

  return versions;
}
