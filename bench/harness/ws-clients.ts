/**
 * Opens idle WebSockets to a benchmark server from a process of its own, in batches, and keeps
 * them open until the harness sends "close". Each socket sends the session cookie and must receive
 * the session counter as its first message, which proves the server loaded the session.
 *
 * Reports over IPC: `{ type: "opened", opened, failed, firstError }`, then `{ type: "closed" }`.
 */
import WebSocket from "ws";

interface ClientOptions {
  port: number;
  count: number;
  batch: number;
  cookie: string | null;
  /** The first message every socket must receive, or null to wait for the open event only. */
  expectedMessage: string | null;
  timeoutMillis: number;
}

const sockets: WebSocket[] = [];

function openOne(options: ClientOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = options.cookie ? { cookie: options.cookie } : {};
    const socket = new WebSocket(`ws://127.0.0.1:${options.port}/`, {
      headers,
      perMessageDeflate: false,
    });
    sockets.push(socket);

    const timer = setTimeout(() => reject(new Error("timed out")), options.timeoutMillis);
    const ready = () => {
      clearTimeout(timer);
      resolve();
    };

    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });

    if (options.expectedMessage === null) {
      socket.once("open", ready);
      return;
    }

    socket.once("message", (data) => {
      const text = data.toString();
      if (text === options.expectedMessage) {
        ready();
        return;
      }

      clearTimeout(timer);
      reject(
        new Error(`first message was ${JSON.stringify(text)}, expected ${options.expectedMessage}`),
      );
    });
  });
}

async function openAll(options: ClientOptions): Promise<void> {
  let opened = 0;
  let failed = 0;
  let firstError: string | null = null;

  for (let start = 0; start < options.count; start += options.batch) {
    const size = Math.min(options.batch, options.count - start);
    const outcomes = await Promise.allSettled(Array.from({ length: size }, () => openOne(options)));

    for (const outcome of outcomes) {
      if (outcome.status === "fulfilled") {
        opened++;
        continue;
      }

      failed++;
      firstError ??= String(outcome.reason);
    }
  }

  process.send?.({ type: "opened", opened, failed, firstError });
}

function closeAll(): void {
  for (const socket of sockets) socket.terminate();
  process.send?.({ type: "closed" }, undefined, {}, () => process.disconnect());
}

process.on("message", (message: { type: string } & Partial<ClientOptions>) => {
  if (message.type === "open") void openAll(message as ClientOptions);
  if (message.type === "close") closeAll();
});
