import { expect } from "chai";

import { ASGIProtocolError, ClientDisconnectedError } from "../../lib/exceptions";
import type { ASGIApp, Receive, Scope, Send, SendMessage } from "../../lib/types/asgi";
import { RawConnection, rawRequest } from "../helpers/raw-http";
import { closeServers, deferred, startServer, waitUntil, within } from "../helpers/server-harness";

const GET = "GET /fault HTTP/1.1\r\nHost: a\r\n\r\n";
const START: SendMessage = { type: "http.response.start", status: 200 };

/** Wraps `body` as an HTTP-only app that resolves `finished` when it returns or raises. */
function trackedApp(body: (send: Send, receive: Receive) => Promise<void>) {
  const finished = deferred();
  const app: ASGIApp = async (scope, receive, send) => {
    if (scope.type !== "http") return;

    try {
      await body(send, receive);
    } finally {
      finished.resolve();
    }
  };

  return { app, finished: finished.promise };
}

/** Sends `message` and returns the name of the error class it was rejected with. */
async function rejectionName(send: Send, message: unknown): Promise<string> {
  try {
    await send(message as SendMessage);
    return "resolved";
  } catch (error) {
    return (error as Error).constructor.name;
  }
}

describe("HTTP faults", () => {
  afterEach(closeServers);

  describe("app raises", () => {
    it("before start gives 500", async () => {
      const { port, logger } = await startServer(async (scope: Scope) => {
        if (scope.type === "http") throw new Error("boom");
      });

      const response = await rawRequest(port, GET);

      expect(response.status).to.equal(500);
      expect(response.body.toString()).to.equal("Internal Server Error");
      await waitUntil(() => logger.at("error").length > 0, "the error was logged");
      const errors = logger.at("error");
      expect(errors).to.have.length(1);
      expect(errors[0].message).to.include("before starting a response");
      expect(errors[0].context.err).to.be.instanceOf(Error);
      expect((errors[0].context.err as Error).message).to.equal("boom");
      expect(errors[0].context.connectionId).to.be.a("number");
      expect(errors[0].context.path).to.equal("/fault");
    });

    it("synchronously gives 500", async () => {
      const app = ((scope: Scope) => {
        if (scope.type === "http") throw new Error("sync boom");
        return Promise.resolve();
      }) as ASGIApp;
      const { port, logger } = await startServer(app);

      const response = await rawRequest(port, GET);

      expect(response.status).to.equal(500);
      await waitUntil(() => logger.at("error").length === 1, "the error was logged");
    });

    it("after start closes the connection", async () => {
      const { app, finished } = trackedApp(async (send) => {
        await send(START);
        throw new Error("late boom");
      });
      const { port, logger } = await startServer(app);
      const connection = await RawConnection.open(port);

      connection.write(GET);
      await connection.waitClose();
      await finished;

      expect(connection.pending().length).to.equal(0);
      await waitUntil(() => logger.at("error").length > 0, "the error was logged");
      expect(logger.at("error")).to.have.length(1);
      expect(logger.at("error")[0].message).to.include("during the response");
    });

    it("mid-stream closes the connection", async () => {
      const { app, finished } = trackedApp(async (send) => {
        await send(START);
        await send({ type: "http.response.body", body: Buffer.from("part"), more_body: true });
        throw new Error("stream boom");
      });
      const { port, logger } = await startServer(app);
      const connection = await RawConnection.open(port);

      connection.write(GET);
      await connection.waitClose();
      await finished;

      // The close may reset the socket, so the part sent before may or may not arrive.
      expect(connection.pending().toString()).not.to.include("0\r\n\r\n");
      await waitUntil(() => logger.at("error").length > 0, "the error was logged");
      expect(logger.at("error")).to.have.length(1);
    });

    it("after the response only logs", async () => {
      const { app, finished } = trackedApp(async (send) => {
        await send(START);
        await send({ type: "http.response.body", body: Buffer.from("done") });
        throw new Error("after boom");
      });
      const { port, logger } = await startServer(app);

      const response = await rawRequest(port, GET);
      await finished;

      expect(response.status).to.equal(200);
      expect(response.body.toString()).to.equal("done");
      await waitUntil(() => logger.at("error").length > 0, "the error was logged");
      expect(logger.at("error")).to.have.length(1);
      expect(logger.at("error")[0].message).to.include("after the response ended");
    });

    it("never logs cookie values", async () => {
      const { port, logger } = await startServer(async (scope: Scope) => {
        if (scope.type === "http") throw new Error("boom");
      });

      await rawRequest(
        port,
        "GET /fault?token=abc HTTP/1.1\r\nHost: a\r\nCookie: session=secret-value\r\n\r\n",
      );
      await waitUntil(() => logger.at("error").length > 0, "the error was logged");

      const logged = JSON.stringify(logger.entries, (_key, value: unknown) =>
        value instanceof Error ? value.message : value,
      );
      expect(logged).not.to.include("secret-value");
      expect(logged).not.to.include("token=abc");
    });
  });

  describe("app returns", () => {
    it("without a response gives 500", async () => {
      const { port, logger } = await startServer(async () => undefined);

      const response = await rawRequest(port, GET);

      expect(response.status).to.equal(500);
      await waitUntil(() => logger.at("error").length > 0, "the error was logged");
      expect(logger.at("error")).to.have.length(1);
      expect(logger.at("error")[0].message).to.include("without starting a response");
    });

    it("mid-response closes the connection", async () => {
      const { app } = trackedApp(async (send) => {
        await send(START);
      });
      const { port, logger } = await startServer(app);
      const connection = await RawConnection.open(port);

      connection.write(GET);
      await connection.waitClose();

      await waitUntil(() => logger.at("error").length > 0, "the error was logged");
      expect(logger.at("error")).to.have.length(1);
      expect(logger.at("error")[0].message).to.include("without completing the response");
    });
  });

  describe("protocol errors", () => {
    const cases: Array<[string, SendMessage[], unknown]> = [
      ["body before start", [], { type: "http.response.body", body: Buffer.from("x") }],
      ["second start", [START], START],
      [
        "message after final body",
        [START, { type: "http.response.body", body: Buffer.from("x") }],
        { type: "http.response.body", body: Buffer.from("y") },
      ],
      ["unknown type", [], { type: "http.response.push", path: "/x" }],
      ["trailers message", [START], { type: "http.response.trailers", headers: [] }],
      ["missing type", [], { status: 200 }],
      ["non-object message", [], "http.response.start"],
      ["null message", [], null],
    ];

    for (const [name, before, message] of cases) {
      it(`rejects ${name}`, async () => {
        let rejection = "";
        const { app, finished } = trackedApp(async (send) => {
          for (const earlier of before) await send(earlier);
          rejection = await rejectionName(send, message);
          if (before.length < 2) {
            await send({ type: "http.response.start", status: 200 }).catch(() => undefined);
            await send({ type: "http.response.body", body: Buffer.from("after") });
          }
        });
        const { port, logger } = await startServer(app);

        const response = await rawRequest(port, GET);
        await finished;

        expect(rejection).to.equal(ASGIProtocolError.name);
        expect(response.status).to.equal(200);
        expect(logger.at("error")).to.deep.equal([]);
      });
    }

    it("becomes 500 when not caught", async () => {
      const { port, logger } = await startServer(async (scope: Scope, _receive, send) => {
        if (scope.type !== "http") return;
        await send({ type: "http.response.body", body: Buffer.from("x") });
      });

      const response = await rawRequest(port, GET);

      expect(response.status).to.equal(500);
      await waitUntil(() => logger.at("error").length > 0, "the error was logged");
      expect(logger.at("error")).to.have.length(1);
      expect(logger.at("error")[0].context.err).to.be.instanceOf(ASGIProtocolError);
    });
  });

  describe("client disconnect", () => {
    it("rejects sends mid-response", async () => {
      const firstChunk = deferred();
      const outcome = deferred<string>();
      const { port, logger } = await startServer(async (scope: Scope, _receive, send) => {
        if (scope.type !== "http") return;

        await send(START);
        await send({ type: "http.response.body", body: Buffer.from("a"), more_body: true });
        firstChunk.resolve();
        try {
          for (let i = 0; i < 1000; i++) {
            await send({ type: "http.response.body", body: Buffer.alloc(1024), more_body: true });
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
          outcome.resolve("completed");
        } catch (error) {
          outcome.resolve((error as Error).constructor.name);
          throw error;
        }
      });
      const connection = await RawConnection.open(port);

      connection.write(GET);
      await within(firstChunk.promise, 2000, "the first chunk");
      connection.destroy();

      expect(await within(outcome.promise, 3000, "the send failed")).to.equal(
        ClientDisconnectedError.name,
      );
      await new Promise((resolve) => setImmediate(resolve));
      expect(logger.at("error")).to.deep.equal([]);
      expect(logger.at("debug").map((entry) => entry.message)).to.include(
        "ASGI app stopped because the client disconnected",
      );
    });

    it("rejects a send before start", async () => {
      const waiting = deferred();
      const outcome = deferred<string>();
      const { port, logger } = await startServer(async (scope: Scope, receive, send) => {
        if (scope.type !== "http") return;

        await receive();
        waiting.resolve();
        const message = await receive();
        const name = await rejectionName(send, START);
        outcome.resolve(`${message.type} ${name}`);
      });
      const connection = await RawConnection.open(port);

      connection.write(GET);
      await within(waiting.promise, 2000, "the app waits");
      connection.destroy();

      expect(await within(outcome.promise, 2000, "the app saw the disconnect")).to.equal(
        "http.disconnect ClientDisconnectedError",
      );
      expect(logger.at("error")).to.deep.equal([]);
    });
  });

  describe("unusual requests", () => {
    it("reassembles a fragmented request", async () => {
      const { port } = await startServer(async (scope: Scope, receive, send) => {
        if (scope.type !== "http") return;

        const chunks: Buffer[] = [];
        for (;;) {
          const message = await receive();
          if (message.type !== "http.request") break;

          chunks.push(Buffer.from(message.body));
          if (!message.more_body) break;
        }
        await send(START);
        await send({ type: "http.response.body", body: Buffer.concat(chunks) });
      });
      const connection = await RawConnection.open(port);
      const request = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello";

      for (const byte of request) {
        connection.write(byte);
        await new Promise((resolve) => setImmediate(resolve));
      }
      const response = await connection.readResponse();
      connection.destroy();

      expect(response.status).to.equal(200);
      expect(response.body.toString()).to.equal("hello");
    });

    it("accepts a 64 KiB header", async () => {
      let length = 0;
      const { port } = await startServer(async (scope: Scope, _receive, send) => {
        if (scope.type !== "http") return;

        length = scope.headers.find(([name]) => name === "x-big")?.[1].length ?? -1;
        await send(START);
        await send({ type: "http.response.body" });
      });

      const response = await rawRequest(
        port,
        `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${"b".repeat(64 * 1024)}\r\n\r\n`,
      );

      expect(response.status).to.equal(200);
      expect(length).to.equal(64 * 1024);
    });

    for (const upgrade of ["h2c", "websocket"]) {
      it(`serves Upgrade ${upgrade} as HTTP`, async () => {
        const types: string[] = [];
        const { port } = await startServer(async (scope: Scope, _receive, send) => {
          types.push(scope.type);
          if (scope.type !== "http") return;

          await send(START);
          await send({ type: "http.response.body", body: Buffer.from("plain") });
        });

        // Without Sec-WebSocket-Key, uWS does not take the request for a WebSocket upgrade.
        const response = await rawRequest(
          port,
          `GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: ${upgrade}\r\n\r\n`,
        );

        expect(response.body.toString()).to.equal("plain");
        expect(types).to.deep.equal(["http"]);
      });
    }

    it("ignores a garbage request", async () => {
      let calls = 0;
      const { port, logger } = await startServer(async (scope: Scope) => {
        if (scope.type === "http") calls += 1;
      });
      const connection = await RawConnection.open(port);

      connection.write("\x00\x01garbage\r\n\r\n");
      const outcome = await connection.readResponse({ timeoutMs: 300 }).then(
        () => "responded",
        () => "no response",
      );
      connection.destroy();

      expect(outcome).to.equal("no response");
      expect(calls).to.equal(0);
      expect(logger.at("error")).to.deep.equal([]);
    });
  });

  describe("uWS limits", () => {
    it("closes on a pipelined request", async () => {
      const release = deferred();
      const { port } = await startServer(async (scope: Scope, _receive, send) => {
        if (scope.type !== "http") return;

        await release.promise;
        await send(START).catch(() => undefined);
        await send({ type: "http.response.body" }).catch(() => undefined);
      });
      const connection = await RawConnection.open(port);

      connection.write(GET + GET);
      await connection.waitClose();
      release.resolve();

      // uWS refuses to pipeline behind an asynchronous response.
      expect(connection.pending().length).to.equal(0);
    });

    for (const method of ["get", "PURGE"]) {
      it(`never responds to method ${method}`, async () => {
        let calls = 0;
        const { port } = await startServer(async (scope: Scope) => {
          if (scope.type === "http") calls += 1;
        });
        const connection = await RawConnection.open(port);

        connection.write(`${method} / HTTP/1.1\r\nHost: a\r\n\r\n`);
        const outcome = await connection.readResponse({ timeoutMs: 300 }).then(
          () => "responded",
          () => "no response",
        );
        connection.destroy();

        expect(outcome).to.equal("no response");
        expect(calls).to.equal(0);
      });
    }

    it("never responds to HTTP/1.0", async () => {
      let calls = 0;
      const { port } = await startServer(async (scope: Scope) => {
        if (scope.type === "http") calls += 1;
      });
      const connection = await RawConnection.open(port);

      connection.write("GET / HTTP/1.0\r\nHost: a\r\n\r\n");
      const outcome = await connection.readResponse({ timeoutMs: 300 }).then(
        () => "responded",
        () => "no response",
      );
      connection.destroy();

      expect(outcome).to.equal("no response");
      expect(calls).to.equal(0);
    });
  });
});
