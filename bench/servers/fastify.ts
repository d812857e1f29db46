/**
 * Fastify with `@fastify/secure-session`: the encrypted cookie session most Node users would
 * pick instead. `BENCH_VARIANT` is the session work: `counter`, `read` or `large`.
 */
import fastifySecureSession from "@fastify/secure-session";
import Fastify from "fastify";

import {
  applySessionWork,
  counterBody,
  type SessionAccess,
  type SessionWork,
} from "../fixtures/session-data";
import { runServerChild, type BenchServer } from "./child";
import { BENCH_SECRET } from "./secrets";

async function startFastifyServer(): Promise<BenchServer> {
  const work = (process.env.BENCH_VARIANT ?? "counter") as SessionWork;
  const app = Fastify({ logger: false });

  await app.register(fastifySecureSession, {
    key: BENCH_SECRET,
    cookieName: "session",
    cookie: { path: "/", httpOnly: true, sameSite: "lax" },
  });

  app.get("/*", async (request, reply) => {
    // The plugin types keys against a declared SessionData; the benchmark uses plain keys.
    const session = request.session as unknown as SessionAccess;
    const count = applySessionWork(work, session);

    reply.type("text/plain; charset=utf-8");
    return counterBody(count);
  });

  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === "string") {
    throw new Error("fastify did not report a TCP port");
  }

  return { port: address.port, close: () => app.close() };
}

runServerChild(startFastifyServer);
