import { randomBytes } from "node:crypto";

import { createLogger } from "../lib/logger";
import { serve } from "../lib/server";
import { RedisStore } from "../lib/stores/redis";
import { createDemoApp } from "./demo-app";

const HOST = "127.0.0.1";
const PORT = 8000;

/** Reads SESSION_SECRET as hex; without it, a random secret lasts until the process exits. */
function readSecret(logger: ReturnType<typeof createLogger>): Buffer {
  const hex = process.env.SESSION_SECRET;

  if (hex !== undefined && hex !== "") {
    if (!/^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{48}|[0-9a-fA-F]{64})$/.test(hex)) {
      throw new Error(
        `SESSION_SECRET must be 32, 48 or 64 hex digits (16, 24 or 32 bytes), got ${hex.length} ` +
          "characters; generate one with: node -e \"console.log(require('crypto').randomBytes(32).toString('hex'))\"",
      );
    }
    return Buffer.from(hex, "hex");
  }

  logger.info(
    {},
    "SESSION_SECRET is not set, so a random secret is used and sessions end when the demo stops",
  );
  return randomBytes(32);
}

/** With REDIS_URL set, sessions live in Redis and the cookie holds only a session id. */
function openRedisStore(logger: ReturnType<typeof createLogger>): RedisStore | undefined {
  const url = process.env.REDIS_URL;
  if (url === undefined || url === "") return undefined;

  logger.info({ redis: url.replace(/\/\/[^@/]*@/, "//***@") }, "server-side sessions on Redis");
  return RedisStore.withClient({ url, logger });
}

async function main(): Promise<void> {
  const logger = createLogger("info");
  const store = openRedisStore(logger);
  const app = createDemoApp({ secret: readSecret(logger), store, logger });
  const server = await serve(app, { host: HOST, port: PORT });

  logger.info({ url: `http://${HOST}:${server.port}/` }, "demo listening");

  const stop = (): void => {
    server
      .close()
      .then(() => store?.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ error }, "demo shutdown failed");
          process.exit(1);
        },
      );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
