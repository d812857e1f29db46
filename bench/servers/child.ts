/**
 * The protocol between the benchmark harness and a server child process.
 *
 * A server script calls `runServerChild` with a start function. The child reports its bound port
 * over IPC (or prints it when run by hand), then answers the harness's requests for CPU time and
 * memory until it is told to shut down. CPU time comes from the child's own `process.cpuUsage()`,
 * so it counts only the server's work, never the load generator's.
 */

/** A running benchmark server. */
export interface BenchServer {
  port: number;
  close(): Promise<void>;
}

export type ParentMessage =
  | { type: "cpu-start" }
  | { type: "cpu-stop" }
  | { type: "memory"; collect: boolean }
  | { type: "shutdown" };

export interface MemorySample {
  rss: number;
  heapUsed: number;
  external: number;
}

export type ChildMessage =
  | { type: "ready"; port: number }
  | { type: "cpu"; userMicros: number; systemMicros: number; wallMillis: number; rss: number }
  | ({ type: "memory" } & MemorySample)
  | { type: "failed"; message: string };

/** Starts `start()`, reports its port and serves the harness's requests until shutdown. */
export function runServerChild(start: () => Promise<BenchServer>): void {
  start().then(
    (server) => attachToParent(server),
    (error: unknown) => failStartup(error),
  );
}

function attachToParent(server: BenchServer): void {
  if (!process.send) {
    process.stdout.write(`listening on http://127.0.0.1:${server.port}/\n`);
    return;
  }

  let cpuStart = process.cpuUsage();
  let wallStart = performance.now();

  process.on("message", (message: ParentMessage) => {
    switch (message.type) {
      case "cpu-start":
        cpuStart = process.cpuUsage();
        wallStart = performance.now();
        return;
      case "cpu-stop":
        sendToParent(measureCpu(cpuStart, wallStart));
        return;
      case "memory":
        sendToParent({ type: "memory", ...sampleMemory(message.collect) });
        return;
      case "shutdown":
        void shutdown(server);
        return;
    }
  });

  sendToParent({ type: "ready", port: server.port });
}

function measureCpu(cpuStart: NodeJS.CpuUsage, wallStart: number): ChildMessage {
  const used = process.cpuUsage(cpuStart);

  return {
    type: "cpu",
    userMicros: used.user,
    systemMicros: used.system,
    wallMillis: performance.now() - wallStart,
    rss: process.memoryUsage.rss(),
  };
}

/**
 * Samples memory, after two full collections when `collect` is set and the child runs with
 * `--expose-gc`.
 */
function sampleMemory(collect: boolean): MemorySample {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (collect && gc) {
    gc();
    gc();
  }

  const usage = process.memoryUsage();
  return { rss: usage.rss, heapUsed: usage.heapUsed, external: usage.external };
}

async function shutdown(server: BenchServer): Promise<void> {
  try {
    await server.close();
  } finally {
    // Exiting here, not on an empty event loop, lets `--cpu-prof` write its profile even when a
    // library keeps a handle open.
    process.disconnect?.();
    process.exit(0);
  }
}

function failStartup(error: unknown): void {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);

  if (process.send) sendToParent({ type: "failed", message });
  process.stderr.write(`benchmark server failed to start: ${message}\n`);
  process.exitCode = 1;
  process.disconnect?.();
}

function sendToParent(message: ChildMessage): void {
  process.send?.(message);
}
