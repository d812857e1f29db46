/**
 * Express with `express-session` on its default `MemoryStore`: the cookie carries a signed
 * session id and the data stays in the process. `BENCH_VARIANT` is the session work.
 */
import express from "express";
import session from "express-session";

import { applySessionWork, counterBody, type SessionWork } from "../fixtures/session-data";
import { runServerChild, type BenchServer } from "./child";
import { listenExpress } from "./express-listen";
import { BENCH_SECRET_TEXT } from "./secrets";

async function startExpressSessionServer(): Promise<BenchServer> {
  const work = (process.env.BENCH_VARIANT ?? "counter") as SessionWork;
  const app = express();

  app.set("etag", false);
  app.set("x-powered-by", false);
  app.use(
    session({
      name: "session",
      secret: BENCH_SECRET_TEXT,
      resave: false,
      saveUninitialized: false,
      store: new session.MemoryStore(),
    }),
  );

  app.get("/{*path}", (request, response) => {
    const data = request.session as unknown as Record<string, unknown>;
    const count = applySessionWork(work, {
      get: (key) => data[key],
      set: (key, value) => {
        data[key] = value;
      },
    });

    response.type("text/plain; charset=utf-8").send(counterBody(count));
  });

  return listenExpress(app);
}

runServerChild(startExpressSessionServer);
