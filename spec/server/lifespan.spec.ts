import { expect } from "chai";
import WebSocket from "ws";

import { ASGIProtocolError, LifespanError } from "../../lib/exceptions";
import { serve, Server } from "../../lib/server";
import type {
  ASGIApp,
  LifespanScope,
  Receive,
  Scope,
  Send,
  SendMessage,
} from "../../lib/types/asgi";
import { rawRequest } from "../helpers/raw-http";
import {
  CapturingLogger,
  closeServers,
  deferred,
  startServer,
  within,
} from "../helpers/server-harness";

/** Builds an app whose lifespan part runs `lifespan` and whose HTTP part echoes its state. */
function appWith(lifespan: (scope: LifespanScope, receive: Receive, send: Send) => Promise<void>) {
  const states: Array<Record<string, unknown>> = [];
  const app: ASGIApp = async (scope: Scope, receive, send) => {
    if (scope.type === "lifespan") return lifespan(scope, receive, send);
    if (scope.type !== "http") return;

    states.push(scope.state);
    await send({ type: "http.response.start", status: 200 });
    await send({ type: "http.response.body", body: Buffer.from(JSON.stringify(scope.state)) });
  };

  return { app, states };
}

/** Completes startup and shutdown, recording each message it received. */
function completeBoth(events: string[], setup?: (state: Record<string, unknown>) => void) {
  return async (scope: LifespanScope, receive: Receive, send: Send): Promise<void> => {
    const startup = await receive();
    events.push(startup.type);
    setup?.(scope.state);
    await send({ type: "lifespan.startup.complete" });

    const shutdown = await receive();
    events.push(shutdown.type);
    await send({ type: "lifespan.shutdown.complete" });
  };
}

async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }

  throw new Error("the promise resolved");
}

describe("lifespan", () => {
  afterEach(closeServers);

  it("runs startup before listening", async () => {
    const startupSeen = deferred<LifespanScope>();
    const release = deferred();
    const logger = new CapturingLogger();
    const app: ASGIApp = async (scope, receive, send) => {
      if (scope.type !== "lifespan") return;

      await receive();
      startupSeen.resolve(scope);
      await release.promise;
      await send({ type: "lifespan.startup.complete" });
      await receive();
      await send({ type: "lifespan.shutdown.complete" });
    };

    const serving = serve(app, { lifespan: "on", logger });
    const scope = await within(startupSeen.promise, 2000, "the startup message");
    const listenedEarly = logger.entries.some((entry) => entry.message === "server listening");
    release.resolve();
    const server = await serving;
    await server.close();

    expect(scope.type).to.equal("lifespan");
    expect(scope.asgi).to.deep.equal({ version: "3.0", spec_version: "2.0" });
    expect(scope.state).to.deep.equal({});
    expect(listenedEarly).to.equal(false);
    expect(server.port).to.be.above(0);
  });

  it("copies state into each scope", async () => {
    const events: string[] = [];
    const { app, states } = appWith(
      completeBoth(events, (state) => {
        state.counter = 1;
        state.shared = { hits: 0 };
      }),
    );
    const { port } = await startServer(app, { lifespan: "on" });

    const first = await rawRequest(port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    states[0].counter = 99;
    (states[0].shared as { hits: number }).hits += 1;
    const second = await rawRequest(port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");

    expect(JSON.parse(first.body.toString())).to.deep.equal({ counter: 1, shared: { hits: 0 } });
    // A shallow copy: top-level keys are per request, nested objects are shared.
    expect(JSON.parse(second.body.toString())).to.deep.equal({
      counter: 1,
      shared: { hits: 1 },
    });
    expect(states[0]).not.to.equal(states[1]);
  });

  it("copies state into WebSocket scopes", async () => {
    const states: Array<Record<string, unknown>> = [];
    const events: string[] = [];
    const lifespan = completeBoth(events, (state) => (state.ready = true));
    const app: ASGIApp = async (scope, receive, send) => {
      if (scope.type === "lifespan") return lifespan(scope, receive, send);
      if (scope.type !== "websocket") return;

      states.push(scope.state);
      await receive();
      await send({ type: "websocket.accept" });
      await send({ type: "websocket.close" });
    };
    const { port } = await startServer(app, { lifespan: "on" });

    await new Promise<void>((resolve) => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}/`);
      socket.on("close", () => resolve());
      socket.on("error", () => resolve());
    });

    expect(states).to.deep.equal([{ ready: true }]);
  });

  it("runs shutdown on close", async () => {
    const events: string[] = [];
    const { app } = appWith(completeBoth(events));
    const logger = new CapturingLogger();
    const server = await serve(app, { lifespan: "on", logger });

    await server.close();

    expect(events).to.deep.equal(["lifespan.startup", "lifespan.shutdown"]);
    const messages = logger.entries.map((entry) => entry.message);
    expect(messages.indexOf("server stopping")).to.be.below(messages.indexOf("server stopped"));
    expect(logger.at("error")).to.deep.equal([]);
  });

  for (const mode of ["on", "auto"] as const) {
    it(`fails on startup.failed in ${mode}`, async () => {
      const { app } = appWith(async (_scope, receive, send) => {
        await receive();
        await send({ type: "lifespan.startup.failed", message: "database unreachable" });
      });

      const error = await rejectionOf(
        serve(app, { lifespan: mode, logger: new CapturingLogger() }),
      );

      expect(error).to.be.instanceOf(LifespanError);
      expect(error.message).to.include("database unreachable");
    });
  }

  it("fails on a raise in on mode", async () => {
    const logger = new CapturingLogger();
    const { app } = appWith(async () => {
      throw new Error("no lifespan here");
    });

    const error = await rejectionOf(serve(app, { lifespan: "on", logger }));

    expect(error).to.be.instanceOf(LifespanError);
    expect(error.message).to.include("no lifespan here");
    expect((error.cause as Error).message).to.equal("no lifespan here");
    expect(logger.at("error")).to.have.length(1);
  });

  it("fails on an early return in on mode", async () => {
    const { app } = appWith(async () => undefined);

    const error = await rejectionOf(serve(app, { lifespan: "on", logger: new CapturingLogger() }));

    expect(error).to.be.instanceOf(LifespanError);
    expect(error.message).to.include("returned before completing startup");
  });

  it("serves without lifespan in auto", async () => {
    const { app } = appWith(async (scope) => {
      if (scope.type === "lifespan") throw new Error("unsupported scope");
    });
    const { port, logger, server } = await startServer(app, { lifespan: "auto" });

    const response = await rawRequest(port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    await server.close();

    expect(response.status).to.equal(200);
    expect(JSON.parse(response.body.toString())).to.deep.equal({});
    const info = logger.at("info").map((entry) => entry.message);
    expect(info).to.include("ASGI lifespan protocol appears unsupported; serving without lifespan");
    expect(logger.at("error")).to.deep.equal([]);
  });

  it("never sends lifespan when off", async () => {
    const types: string[] = [];
    const app: ASGIApp = async (scope, _receive, send) => {
      types.push(scope.type);
      if (scope.type !== "http") return;
      await send({ type: "http.response.start", status: 204 });
      await send({ type: "http.response.body" });
    };
    const { port, server } = await startServer(app, { lifespan: "off" });

    await rawRequest(port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    await server.close();

    expect(types).to.deep.equal(["http"]);
  });

  it("logs shutdown.failed", async () => {
    const { app } = appWith(async (_scope, receive, send) => {
      await receive();
      await send({ type: "lifespan.startup.complete" });
      await receive();
      await send({ type: "lifespan.shutdown.failed", message: "flush failed" });
    });
    const { server, logger } = await startServer(app, { lifespan: "on" });

    await server.close();

    const errors = logger.at("error");
    expect(errors).to.have.length(1);
    expect(errors[0].context.reason).to.equal("flush failed");
  });

  it("bounds shutdown by shutdownTimeout", async () => {
    const { app } = appWith(async (_scope, receive, send) => {
      await receive();
      await send({ type: "lifespan.startup.complete" });
      await receive();
      await new Promise(() => undefined);
    });
    const { server, logger } = await startServer(app, { lifespan: "on", shutdownTimeout: 100 });

    const started = Date.now();
    await within(server.close(), 2000, "close with a silent app");

    expect(Date.now() - started).to.be.at.least(90);
    expect(logger.at("error")[0].context.reason).to.include("100 ms");
  });

  it("close abandons a stuck startup", async () => {
    const startupReceived = deferred();
    const release = deferred();
    const lateSend = deferred<string>();
    const { app } = appWith(async (_scope, receive, send) => {
      await receive();
      startupReceived.resolve();
      await release.promise;
      try {
        await send({ type: "lifespan.startup.complete" });
        lateSend.resolve("resolved");
      } catch (error) {
        lateSend.resolve((error as Error).constructor.name);
      }
    });
    const logger = new CapturingLogger();
    const server = new Server(app, { lifespan: "on", shutdownTimeout: 100, logger });
    const listening = rejectionOf(server.listen());

    await within(startupReceived.promise, 2000, "startup was sent");
    const started = Date.now();
    await within(server.close(), 2000, "close with a stuck startup");
    release.resolve();

    expect(Date.now() - started).to.be.at.least(90);
    const error = await within(listening, 2000, "listen settled");
    expect(error).to.be.instanceOf(LifespanError);
    expect(error.message).to.include("did not complete within 100 ms");
    expect(server.port).to.equal(0);
    expect(logger.at("warn").map((entry) => entry.message)).to.include(
      "lifespan startup abandoned; the server will not listen",
    );
    expect(await within(lateSend.promise, 2000, "the late send")).to.equal(ASGIProtocolError.name);
  });

  it("logs a raise during shutdown", async () => {
    const { app } = appWith(async (_scope, receive, send) => {
      await receive();
      await send({ type: "lifespan.startup.complete" });
      await receive();
      throw new Error("shutdown boom");
    });
    const { server, logger } = await startServer(app, { lifespan: "on" });

    await server.close();

    const errors = logger.at("error");
    expect(errors.map((entry) => entry.message)).to.include("lifespan app raised an exception");
    expect((errors[0].context.err as Error).message).to.equal("shutdown boom");
  });

  it("skips shutdown after the app returned", async () => {
    const { app } = appWith(async (_scope, receive, send) => {
      await receive();
      await send({ type: "lifespan.startup.complete" });
    });
    const { server, logger } = await startServer(app, { lifespan: "on", shutdownTimeout: 5000 });

    const started = Date.now();
    await server.close();

    expect(Date.now() - started).to.be.below(1000);
    expect(logger.at("error")).to.deep.equal([]);
  });

  it("logs a raise after startup", async () => {
    const raised = deferred();
    const { app } = appWith(async (_scope, receive, send) => {
      await receive();
      await send({ type: "lifespan.startup.complete" });
      raised.resolve();
      throw new Error("background boom");
    });
    const { server, logger } = await startServer(app, { lifespan: "on", shutdownTimeout: 5000 });

    await raised.promise;
    const started = Date.now();
    await server.close();

    expect(Date.now() - started).to.be.below(1000);
    expect(logger.at("error")).to.have.length(1);
    expect((logger.at("error")[0].context.err as Error).message).to.equal("background boom");
  });

  it("rejects out-of-order messages", async () => {
    const outcomes: string[] = [];
    const attempt = async (send: Send, message: unknown): Promise<void> => {
      try {
        await send(message as SendMessage);
        outcomes.push("ok");
      } catch (error) {
        outcomes.push(error instanceof ASGIProtocolError ? "protocol error" : String(error));
      }
    };
    const { app } = appWith(async (_scope, receive, send) => {
      await receive();
      await attempt(send, { type: "lifespan.shutdown.complete" });
      await attempt(send, { type: "lifespan.unknown" });
      await attempt(send, null);
      await attempt(send, { type: "lifespan.startup.complete" });
      await attempt(send, { type: "lifespan.startup.complete" });
      await receive();
      await attempt(send, { type: "lifespan.shutdown.complete" });
    });
    const server: Server = await serve(app, { lifespan: "on", logger: new CapturingLogger() });

    await server.close();

    expect(outcomes).to.deep.equal([
      "protocol error",
      "protocol error",
      "protocol error",
      "ok",
      "protocol error",
      "ok",
    ]);
  });
});
