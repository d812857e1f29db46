/**
 * Express with `cookie-session`: the whole session in a signed (not encrypted) cookie.
 * `BENCH_VARIANT` is the session work: `counter`, `read` or `large`.
 */
import cookieSession from "cookie-session";
import express from "express";

import { applySessionWork, counterBody, type SessionWork } from "../fixtures/session-data";
import { runServerChild, type BenchServer } from "./child";
import { listenExpress } from "./express-listen";
import { BENCH_SECRET_TEXT } from "./secrets";

async function startCookieSessionServer(): Promise<BenchServer> {
  const work = (process.env.BENCH_VARIANT ?? "counter") as SessionWork;
  const app = express();

  app.set("etag", false);
  app.set("x-powered-by", false);
  app.use(cookieSession({ name: "session", keys: [BENCH_SECRET_TEXT], httpOnly: true }));

  app.get("/{*path}", (request, response) => {
    // cookie-session creates the session object on first access; it is never null here.
    const session = request.session as unknown as Record<string, unknown>;
    const count = applySessionWork(work, {
      get: (key) => session[key],
      set: (key, value) => {
        session[key] = value;
      },
    });

    response.type("text/plain; charset=utf-8").send(counterBody(count));
  });

  return listenExpress(app);
}

runServerChild(startCookieSessionServer);
