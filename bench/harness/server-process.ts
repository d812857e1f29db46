import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";

import type { ChildMessage, MemorySample, ParentMessage } from "../servers/child";
import { ROOT } from "./settings";

const START_TIMEOUT_MS = 30_000;
const REPLY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

export interface CpuReport {
  userMicros: number;
  systemMicros: number;
  wallMillis: number;
  rss: number;
}

export interface ServerLaunch {
  server: string;
  variant: string;
  cpus: string | null;
  env?: Record<string, string>;
  /** Extra Node flags, such as `--cpu-prof`. */
  nodeFlags?: string[];
}

/**
 * Prefixes a command with `taskset -c CPUS` when a CPU list is given, so a server and its load
 * generator never share a core.
 */
export function pinned(cpus: string | null, command: string, args: string[]): [string, string[]] {
  if (cpus === null) return [command, args];
  return ["taskset", ["-c", cpus, command, ...args]];
}

/** A benchmark server in its own child process, driven over IPC (see bench/servers/child.ts). */
export class ServerProcess {
  readonly port: number;
  private readonly child: ChildProcess;

  private constructor(child: ChildProcess, port: number) {
    this.child = child;
    this.port = port;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Starts the server and resolves once it reports its port. */
  static async start(launch: ServerLaunch): Promise<ServerProcess> {
    const script = join(ROOT, "bench", "servers", `${launch.server}.ts`);
    const nodeArgs = [
      "--expose-gc",
      ...(launch.nodeFlags ?? []),
      "-r",
      "ts-node/register/transpile-only",
      script,
    ];
    const [command, args] = pinned(launch.cpus, process.execPath, nodeArgs);

    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, ...launch.env, BENCH_VARIANT: launch.variant },
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    });

    const port = await waitForReady(child, `${launch.server} (${launch.variant})`);
    return new ServerProcess(child, port);
  }

  async startCpu(): Promise<void> {
    this.post({ type: "cpu-start" });
  }

  async stopCpu(): Promise<CpuReport> {
    const reply = await this.request({ type: "cpu-stop" }, "cpu");
    return {
      userMicros: reply.userMicros,
      systemMicros: reply.systemMicros,
      wallMillis: reply.wallMillis,
      rss: reply.rss,
    };
  }

  /** Samples memory; after a full collection when `collect` is true. */
  async memory(collect: boolean): Promise<MemorySample> {
    const reply = await this.request({ type: "memory", collect }, "memory");
    return { rss: reply.rss, heapUsed: reply.heapUsed, external: reply.external };
  }

  /** Asks the server to close and exit; kills it when it has not exited in time. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;

    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    if (this.child.connected) this.post({ type: "shutdown" });

    const timer = setTimeout(() => this.child.kill("SIGKILL"), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }

  private post(message: ParentMessage): void {
    this.child.send(message);
  }

  private request<T extends ChildMessage["type"]>(
    message: ParentMessage,
    replyType: T,
  ): Promise<Extract<ChildMessage, { type: T }>> {
    return new Promise((resolve, reject) => {
      const onMessage = (reply: ChildMessage) => {
        if (reply.type !== replyType) return;

        cleanup();
        resolve(reply as Extract<ChildMessage, { type: T }>);
      };
      const onExit = () => {
        cleanup();
        reject(new Error(`server exited before replying to ${message.type}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`server did not reply to ${message.type} within ${REPLY_TIMEOUT_MS} ms`));
      }, REPLY_TIMEOUT_MS);
      const cleanup = () => {
        clearTimeout(timer);
        this.child.off("message", onMessage);
        this.child.off("exit", onExit);
      };

      this.child.on("message", onMessage);
      this.child.once("exit", onExit);
      this.post(message);
    });
  }
}

function waitForReady(child: ChildProcess, name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const fail = (reason: string) => {
      cleanup();
      child.kill("SIGKILL");
      reject(new Error(`benchmark server ${name} ${reason}`));
    };
    const onMessage = (message: ChildMessage) => {
      if (message.type === "ready") {
        cleanup();
        resolve(message.port);
      } else if (message.type === "failed") {
        fail(`failed to start: ${message.message}`);
      }
    };
    const onExit = (code: number | null) => fail(`exited with code ${code} before listening`);
    const timer = setTimeout(
      () => fail(`did not listen within ${START_TIMEOUT_MS} ms`),
      START_TIMEOUT_MS,
    );
    const cleanup = () => {
      clearTimeout(timer);
      child.off("message", onMessage);
      child.off("exit", onExit);
      child.off("error", onError);
    };
    const onError = (error: Error) => fail(`could not be spawned: ${error.message}`);

    child.on("message", onMessage);
    child.once("exit", onExit);
    child.once("error", onError);
  });
}
