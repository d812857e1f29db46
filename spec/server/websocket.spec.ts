import type { IncomingMessage } from "node:http";

import { expect } from "chai";
import WebSocket from "ws";

import { ASGIProtocolError, ClientDisconnectedError } from "../../lib/exceptions";
import type {
  Receive,
  ReceiveMessage,
  Scope,
  Send,
  WebSocketReceiveEvent,
  WebSocketScope,
} from "../../lib/types/asgi";
import { RawConnection } from "../helpers/raw-http";
import { closeServers, deferred, startServer, waitUntil, within } from "../helpers/server-harness";

type WebSocketApp = (scope: WebSocketScope, receive: Receive, send: Send) => Promise<void>;

/** Starts a server that runs `handler` for WebSocket scopes and records what it received. */
async function startWebSocketServer(handler: WebSocketApp, options = {}) {
  const finished = deferred();
  const started = await startServer(async (scope: Scope, receive: Receive, send: Send) => {
    if (scope.type !== "websocket") return;

    try {
      await handler(scope, receive, send);
    } finally {
      finished.resolve();
    }
  }, options);

  return { ...started, finished: finished.promise };
}

interface ClientSession {
  socket: WebSocket;
  upgrade: IncomingMessage;
  messages: Array<{ data: Buffer; binary: boolean }>;
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens a `ws` client and resolves once the handshake completed. */
function connect(url: string, protocols?: string[]): Promise<ClientSession> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, protocols);
    const messages: ClientSession["messages"] = [];
    const closed = new Promise<{ code: number; reason: string }>((resolveClose) => {
      socket.on("close", (code, reason) => resolveClose({ code, reason: reason.toString() }));
    });
    let upgrade: IncomingMessage | undefined;

    socket.on("upgrade", (response) => (upgrade = response));
    socket.on("message", (data, binary) => messages.push({ data: data as Buffer, binary }));
    socket.on("open", () => resolve({ socket, upgrade: upgrade!, messages, closed }));
    socket.on("error", reject);
  });
}

interface Rejection {
  status: number;
  headers: IncomingMessage["headers"];
  body: string;
}

/** Attempts a handshake that the server turns down, and returns the HTTP response. */
function rejectedHandshake(url: string): Promise<Rejection> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);

    socket.on("unexpected-response", (_request, response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => (body += chunk.toString()));
      response.on("end", () => {
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body });
        socket.terminate();
      });
    });
    socket.on("open", () => reject(new Error("the handshake succeeded")));
    socket.on("error", () => undefined);
  });
}

async function acceptAndCollect(receive: Receive, send: Send): Promise<ReceiveMessage[]> {
  const messages: ReceiveMessage[] = [];

  await receive();
  await send({ type: "websocket.accept" });
  for (;;) {
    const message = await receive();
    messages.push(message);
    if (message.type === "websocket.disconnect") return messages;
  }
}

async function errorName(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "resolved";
  } catch (error) {
    return (error as Error).constructor.name;
  }
}

describe("WebSocket", () => {
  afterEach(closeServers);

  describe("handshake", () => {
    it("accepts with subprotocol and headers", async () => {
      const scopes: WebSocketScope[] = [];
      const { port } = await startWebSocketServer(async (scope, receive, send) => {
        scopes.push(scope);
        expect(await receive()).to.deep.equal({ type: "websocket.connect" });
        // Accepting after an await exercises the asynchronous upgrade.
        await new Promise((resolve) => setTimeout(resolve, 10));
        await send({
          type: "websocket.accept",
          subprotocol: "chat.v2",
          headers: [
            ["set-cookie", "session=abc; Path=/"],
            ["x-latin", "caf\xe9"],
          ],
        });
        await receive();
      });

      const client = await connect(`ws://127.0.0.1:${port}/live/caf%C3%A9?room=1`, [
        "chat.v1",
        "chat.v2",
      ]);
      client.socket.close();
      await client.closed;

      expect(client.upgrade.statusCode).to.equal(101);
      expect(client.socket.protocol).to.equal("chat.v2");
      expect(client.upgrade.headers["sec-websocket-protocol"]).to.equal("chat.v2");
      expect(client.upgrade.headers["set-cookie"]).to.deep.equal(["session=abc; Path=/"]);
      expect(Buffer.from(client.upgrade.headers["x-latin"] as string, "latin1")).to.deep.equal(
        Buffer.from("caf\xe9", "latin1"),
      );

      const [scope] = scopes;
      expect(scope.type).to.equal("websocket");
      expect(scope.asgi).to.deep.equal({ version: "3.0", spec_version: "2.5" });
      expect(scope.scheme).to.equal("ws");
      expect(scope.http_version).to.equal("1.1");
      expect(scope.path).to.equal("/live/café");
      expect(scope.raw_path).to.equal("/live/caf%C3%A9");
      expect(scope.query_string).to.equal("room=1");
      expect(scope.subprotocols).to.deep.equal(["chat.v1", "chat.v2"]);
      expect(scope.extensions).to.deep.equal({ "websocket.http.response": {} });
      expect(scope.client).to.deep.equal(["127.0.0.1", null]);
      expect(scope.server).to.deep.equal(["127.0.0.1", port]);
      expect(scope.state).to.deep.equal({});
      expect(scope.headers.map(([name]) => name)).to.include.members([
        "host",
        "upgrade",
        "sec-websocket-key",
        "sec-websocket-protocol",
      ]);
    });

    it("accepts without subprotocol", async () => {
      const { port } = await startWebSocketServer(async (_scope, receive, send) => {
        await receive();
        await send({ type: "websocket.accept" });
        await receive();
      });

      const client = await connect(`ws://127.0.0.1:${port}/`);
      client.socket.close();
      await client.closed;

      expect(client.upgrade.headers["sec-websocket-protocol"]).to.equal(undefined);
      expect(client.socket.protocol).to.equal("");
    });

    it("rejects an invalid subprotocol", async () => {
      const outcome = deferred<string>();
      const { port } = await startWebSocketServer(async (_scope, receive, send) => {
        await receive();
        outcome.resolve(await errorName(send({ type: "websocket.accept", subprotocol: "a b" })));
        await send({ type: "websocket.close" });
      });

      const rejection = await rejectedHandshake(`ws://127.0.0.1:${port}/`);

      expect(await outcome.promise).to.equal(ASGIProtocolError.name);
      expect(rejection.status).to.equal(403);
    });

    it("rejects an unoffered subprotocol", async () => {
      const outcome = deferred<string>();
      const { port } = await startWebSocketServer(async (_scope, receive, send) => {
        await receive();
        const accept = send({ type: "websocket.accept", subprotocol: "chat.v3" });
        outcome.resolve(await errorName(accept));
        await send({ type: "websocket.close" });
      });

      const rejection = await rejectedHandshake(`ws://127.0.0.1:${port}/`);

      expect(await outcome.promise).to.equal(ASGIProtocolError.name);
      expect(rejection.status).to.equal(403);
    });

    for (const name of [
      "Sec-WebSocket-Protocol",
      "sec-websocket-accept",
      "sec-websocket-extensions",
      "upgrade",
      "Connection",
    ]) {
      it(`rejects ${name} in accept headers`, async () => {
        const outcome = deferred<string>();
        const { port } = await startWebSocketServer(async (_scope, receive, send) => {
          await receive();
          const accept = send({ type: "websocket.accept", headers: [[name, "chat.v1"]] });
          outcome.resolve(await errorName(accept));
          await send({ type: "websocket.close" });
        });

        const rejection = await rejectedHandshake(`ws://127.0.0.1:${port}/`);

        expect(await outcome.promise).to.equal(ASGIProtocolError.name);
        expect(rejection.status).to.equal(403);
      });
    }

    it("rejects CR LF in accept headers", async () => {
      const outcome = deferred<string>();
      const { port } = await startWebSocketServer(async (_scope, receive, send) => {
        await receive();
        const accept = send({ type: "websocket.accept", headers: [["x-a", "b\r\nx-c: d"]] });
        outcome.resolve(await errorName(accept));
        await send({ type: "websocket.close" });
      });

      await rejectedHandshake(`ws://127.0.0.1:${port}/`);

      expect(await outcome.promise).to.equal(ASGIProtocolError.name);
    });

    it("sends 403 for close before accept", async () => {
      const after = deferred<ReceiveMessage>();
      const { port } = await startWebSocketServer(async (_scope, receive, send) => {
        await receive();
        await send({ type: "websocket.close", code: 4000 });
        after.resolve(await receive());
      });

      const rejection = await rejectedHandshake(`ws://127.0.0.1:${port}/`);

      expect(rejection.status).to.equal(403);
      expect(await after.promise).to.deep.equal({
        type: "websocket.disconnect",
        code: 1006,
        reason: "",
      });
    });

    it("sends a denial response", async () => {
      const after = deferred<ReceiveMessage>();
      const { port } = await startWebSocketServer(async (_scope, receive, send) => {
        await receive();
        await send({
          type: "websocket.http.response.start",
          status: 401,
          headers: [
            ["www-authenticate", "Bearer"],
            ["content-type", "text/plain"],
          ],
        });
        await send({
          type: "websocket.http.response.body",
          body: Buffer.from("log "),
          more_body: true,
        });
        await send({ type: "websocket.http.response.body", body: Buffer.from("in first") });
        after.resolve(await receive());
      });

      const rejection = await rejectedHandshake(`ws://127.0.0.1:${port}/`);

      expect(rejection.status).to.equal(401);
      expect(rejection.headers["www-authenticate"]).to.equal("Bearer");
      expect(rejection.body).to.equal("log in first");
      expect(await after.promise).to.deep.equal({
        type: "websocket.disconnect",
        code: 1006,
        reason: "",
      });
    });

    it("rejects a second denial start", async () => {
      const outcome = deferred<string>();
      const { port } = await startWebSocketServer(async (_scope, receive, send) => {
        await receive();
        const start = { type: "websocket.http.response.start", status: 404 } as const;
        await send(start);
        outcome.resolve(await errorName(send(start)));
        await send({ type: "websocket.http.response.body", body: Buffer.from("gone") });
      });

      const rejection = await rejectedHandshake(`ws://127.0.0.1:${port}/`);

      expect(await outcome.promise).to.equal(ASGIProtocolError.name);
      expect(rejection.status).to.equal(404);
      expect(rejection.body).to.equal("gone");
    });

    it("sends 500 for an invalid denial", async () => {
      const { port, logger } = await startWebSocketServer(async (_scope, receive, send) => {
        await receive();
        await send({ type: "websocket.http.response.start", status: 1000 });
      });

      const rejection = await rejectedHandshake(`ws://127.0.0.1:${port}/`);

      expect(rejection.status).to.equal(500);
      await waitUntil(() => logger.at("error").length === 1, "the error was logged");
    });

    for (const status of [100, 101, 103]) {
      it(`rejects denial status ${status}`, async () => {
        const outcome = deferred<string>();
        const { port } = await startWebSocketServer(async (_scope, receive, send) => {
          await receive();
          const start = send({ type: "websocket.http.response.start", status });
          outcome.resolve(await errorName(start));
          await send({ type: "websocket.http.response.start", status: 403 });
          await send({ type: "websocket.http.response.body", body: Buffer.from("denied") });
        });

        const rejection = await rejectedHandshake(`ws://127.0.0.1:${port}/`);

        expect(await outcome.promise).to.equal(ASGIProtocolError.name);
        expect(rejection.status).to.equal(403);
        expect(rejection.body).to.equal("denied");
      });
    }

    it("sends 500 for an unfinished denial", async () => {
      const { port, logger } = await startWebSocketServer(async (_scope, receive, send) => {
        await receive();
        await send({ type: "websocket.http.response.start", status: 404 });
      });

      const rejection = await rejectedHandshake(`ws://127.0.0.1:${port}/`);

      expect(rejection.status).to.equal(500);
      await waitUntil(() => logger.at("error").length === 1, "the error was logged");
      expect(logger.at("error")[0].message).to.include("without completing the denial");
    });

    it("rejects send before accept", async () => {
      const outcome = deferred<string>();
      const { port } = await startWebSocketServer(async (_scope, receive, send) => {
        await receive();
        outcome.resolve(await errorName(send({ type: "websocket.send", text: "early" })));
        await send({ type: "websocket.close" });
      });

      await rejectedHandshake(`ws://127.0.0.1:${port}/`);

      expect(await outcome.promise).to.equal(ASGIProtocolError.name);
    });

    it("rejects a second accept", async () => {
      const outcome = deferred<string>();
      const { port } = await startWebSocketServer(async (_scope, receive, send) => {
        await receive();
        await send({ type: "websocket.accept" });
        outcome.resolve(await errorName(send({ type: "websocket.accept" })));
        await send({ type: "websocket.close" });
      });

      const client = await connect(`ws://127.0.0.1:${port}/`);
      await client.closed;

      expect(await outcome.promise).to.equal(ASGIProtocolError.name);
    });

    it("sends 500 for a missing handshake", async () => {
      const { port, logger } = await startWebSocketServer(async () => undefined);

      const rejection = await rejectedHandshake(`ws://127.0.0.1:${port}/`);

      expect(rejection.status).to.equal(500);
      await waitUntil(() => logger.at("error").length === 1, "the error was logged");
      expect(logger.at("error")[0].message).to.include("without accepting or rejecting");
    });

    it("sends 500 for a raise before accept", async () => {
      const { port, logger } = await startWebSocketServer(async (_scope, receive) => {
        await receive();
        throw new Error("handshake boom");
      });

      const rejection = await rejectedHandshake(`ws://127.0.0.1:${port}/`);

      expect(rejection.status).to.equal(500);
      await waitUntil(() => logger.at("error").length === 1, "the error was logged");
      expect((logger.at("error")[0].context.err as Error).message).to.equal("handshake boom");
    });

    it("reports a client gone before accept", async () => {
      const waiting = deferred();
      const events = deferred<string[]>();
      const { port, logger } = await startWebSocketServer(async (_scope, receive, send) => {
        await receive();
        waiting.resolve();
        const message = await receive();
        const accept = await errorName(send({ type: "websocket.accept" }));
        events.resolve([JSON.stringify(message), accept]);
      });
      const connection = await RawConnection.open(port);

      connection.write(
        "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      );
      await within(waiting.promise, 2000, "the app waits");
      connection.destroy();

      expect(await within(events.promise, 2000, "the app saw the disconnect")).to.deep.equal([
        JSON.stringify({ type: "websocket.disconnect", code: 1006, reason: "" }),
        ClientDisconnectedError.name,
      ]);
      expect(logger.at("error")).to.deep.equal([]);
    });
  });

  describe("messages", () => {
    it("echoes text and bytes", async () => {
      const { port } = await startWebSocketServer(async (_scope, receive, send) => {
        await receive();
        await send({ type: "websocket.accept" });
        for (;;) {
          const message = await receive();
          if (message.type !== "websocket.receive") return;

          // Let uWS reuse its buffers before reading the message.
          await new Promise((resolve) => setImmediate(resolve));
          if (message.text !== undefined && message.text !== null) {
            await send({ type: "websocket.send", text: `echo ${message.text}` });
          } else {
            await send({ type: "websocket.send", bytes: Buffer.from(message.bytes!).reverse() });
          }
        }
      });
      const client = await connect(`ws://127.0.0.1:${port}/`);

      client.socket.send("héllo");
      client.socket.send(Buffer.from([1, 2, 3]));
      await waitUntil(() => client.messages.length === 2, "both echoes arrived");
      client.socket.close();
      await client.closed;

      expect(client.messages[0].binary).to.equal(false);
      expect(client.messages[0].data.toString()).to.equal("echo héllo");
      expect(client.messages[1].binary).to.equal(true);
      expect([...client.messages[1].data]).to.deep.equal([3, 2, 1]);
    });

    it("shapes receive events", async () => {
      const collected = deferred<ReceiveMessage[]>();
      const { port } = await startWebSocketServer(async (_scope, receive, send) => {
        collected.resolve(await acceptAndCollect(receive, send));
      });
      const client = await connect(`ws://127.0.0.1:${port}/`);

      client.socket.send("text");
      client.socket.send(Buffer.from("bin"));
      client.socket.close(1000);
      const messages = await within(collected.promise, 2000, "the disconnect");

      const [text, bytes] = messages as WebSocketReceiveEvent[];
      expect(text).to.deep.equal({ type: "websocket.receive", text: "text" });
      expect(bytes.type).to.equal("websocket.receive");
      expect(bytes.text).to.equal(undefined);
      expect(Buffer.from(bytes.bytes!).toString()).to.equal("bin");
    });

    it("rejects invalid send messages", async () => {
      const outcomes = deferred<string[]>();
      const { port } = await startWebSocketServer(async (_scope, receive, send) => {
        await receive();
        await send({ type: "websocket.accept" });
        const results = [
          await errorName(send({ type: "websocket.send", text: "a", bytes: Buffer.from("b") })),
          await errorName(send({ type: "websocket.send" })),
          await errorName(send({ type: "websocket.send", text: 5 as never })),
          await errorName(send({ type: "websocket.send", bytes: "text" as never })),
          await errorName(send({ type: "websocket.http.response.start", status: 200 })),
          await errorName(send({ type: "websocket.send", text: "a\ud800b" })),
          await errorName(send({ type: "websocket.send", text: "\udc00" })),
          await errorName(send({ type: "websocket.send", text: "fine \ud83d\ude00" })),
        ];
        outcomes.resolve(results);
        await send({ type: "websocket.close" });
      });
      const client = await connect(`ws://127.0.0.1:${port}/`);
      await client.closed;

      const protocolError = ASGIProtocolError.name;
      expect(await outcomes.promise).to.deep.equal([
        protocolError,
        protocolError,
        protocolError,
        protocolError,
        protocolError,
        protocolError,
        protocolError,
        "resolved",
      ]);
      expect(client.messages.map((message) => message.data.toString())).to.deep.equal([
        "fine \u{1f600}",
      ]);
    });

    it("reaches concurrent receives in order", async () => {
      const results = deferred<string[]>();
      const waiting = deferred();
      const { port } = await startWebSocketServer(async (_scope, receive, send) => {
        await receive();
        await send({ type: "websocket.accept" });
        const calls = [receive(), receive(), receive(), receive()];
        waiting.resolve();
        const messages = await Promise.all(calls);
        results.resolve(
          messages.map((message) =>
            message.type === "websocket.receive"
              ? `${message.type} ${message.text}`
              : `${message.type} ${(message as { code: number }).code}`,
          ),
        );
      });
      const client = await connect(`ws://127.0.0.1:${port}/`);

      await within(waiting.promise, 2000, "the app waits");
      client.socket.send("one");
      client.socket.send("two");
      client.socket.close(4001);
      await client.closed;

      expect(await within(results.promise, 2000, "every receive")).to.deep.equal([
        "websocket.receive one",
        "websocket.receive two",
        "websocket.disconnect 4001",
        "websocket.disconnect 4001",
      ]);
    });

    it("delivers messages queued before close", async () => {
      const release = deferred();
      const collected = deferred<ReceiveMessage[]>();
      const { port } = await startWebSocketServer(async (_scope, receive, send) => {
        await receive();
        await send({ type: "websocket.accept" });
        await release.promise;
        const messages: ReceiveMessage[] = [];
        for (;;) {
          const message = await receive();
          messages.push(message);
          if (message.type === "websocket.disconnect") break;
        }
        collected.resolve(messages);
      });
      const client = await connect(`ws://127.0.0.1:${port}/`);

      client.socket.send(Buffer.from("a"));
      client.socket.send(Buffer.from("b"));
      client.socket.send(Buffer.from("c"));
      client.socket.close(1000);
      await client.closed;
      release.resolve();
      const messages = await within(collected.promise, 2000, "the messages");

      expect(messages.slice(0, 3).map((message) => message.type)).to.deep.equal([
        "websocket.receive",
        "websocket.receive",
        "websocket.receive",
      ]);
      expect(messages[3]).to.deep.equal({ type: "websocket.disconnect", code: 1000, reason: "" });
    });

    it("closes on a message over maxPayloadLength", async () => {
      const collected = deferred<ReceiveMessage[]>();
      const { port } = await startWebSocketServer(
        async (_scope, receive, send) => collected.resolve(await acceptAndCollect(receive, send)),
        { websocket: { maxPayloadLength: 16 } },
      );
      const client = await connect(`ws://127.0.0.1:${port}/`);

      client.socket.send(Buffer.alloc(16, 1));
      client.socket.send(Buffer.alloc(17, 2));
      const closed = await client.closed;
      const messages = await within(collected.promise, 2000, "the disconnect");

      expect(messages).to.have.length(2);
      expect(messages[0].type).to.equal("websocket.receive");
      // uWS closes without a close frame, where RFC 6455 would send 1009.
      expect(closed.code).to.equal(1006);
      expect(messages[1]).to.include({ type: "websocket.disconnect", code: 1006 });
    });
  });

  describe("close", () => {
    it("reports the client's code and reason", async () => {
      const collected = deferred<ReceiveMessage[]>();
      const { port } = await startWebSocketServer(async (_scope, receive, send) => {
        collected.resolve(await acceptAndCollect(receive, send));
      });
      const client = await connect(`ws://127.0.0.1:${port}/`);

      client.socket.close(4001, "custom reason");
      const messages = await within(collected.promise, 2000, "the disconnect");

      expect(messages).to.deep.equal([
        { type: "websocket.disconnect", code: 4001, reason: "custom reason" },
      ]);
    });

    it("reports 1005 without a code", async () => {
      const collected = deferred<ReceiveMessage[]>();
      const { port } = await startWebSocketServer(async (_scope, receive, send) => {
        collected.resolve(await acceptAndCollect(receive, send));
      });
      const client = await connect(`ws://127.0.0.1:${port}/`);

      client.socket.close();
      const messages = await within(collected.promise, 2000, "the disconnect");

      expect(messages).to.deep.equal([{ type: "websocket.disconnect", code: 1005, reason: "" }]);
    });

    it("reports 1006 on a lost connection", async () => {
      const collected = deferred<ReceiveMessage[]>();
      const { port, logger } = await startWebSocketServer(async (_scope, receive, send) => {
        collected.resolve(await acceptAndCollect(receive, send));
      });
      const client = await connect(`ws://127.0.0.1:${port}/`);

      client.socket.terminate();
      const messages = await within(collected.promise, 2000, "the disconnect");

      expect(messages).to.deep.equal([{ type: "websocket.disconnect", code: 1006, reason: "" }]);
      expect(logger.at("error")).to.deep.equal([]);
    });

    it("sends the app's code and reason", async () => {
      const after = deferred<string[]>();
      const { port } = await startWebSocketServer(async (_scope, receive, send) => {
        await receive();
        await send({ type: "websocket.accept" });
        await send({ type: "websocket.send", text: "bye soon" });
        await send({ type: "websocket.close", code: 4002, reason: "done here" });
        after.resolve([
          JSON.stringify(await receive()),
          await errorName(send({ type: "websocket.send", text: "too late" })),
          await errorName(send({ type: "websocket.close" })),
        ]);
      });
      const client = await connect(`ws://127.0.0.1:${port}/`);

      const closed = await client.closed;

      expect(closed).to.deep.equal({ code: 4002, reason: "done here" });
      expect(client.messages.map((message) => message.data.toString())).to.deep.equal(["bye soon"]);
      expect(await after.promise).to.deep.equal([
        JSON.stringify({ type: "websocket.disconnect", code: 4002, reason: "done here" }),
        ClientDisconnectedError.name,
        ClientDisconnectedError.name,
      ]);
    });

    it("closes with 1000 by default", async () => {
      const { port } = await startWebSocketServer(async (_scope, receive, send) => {
        await receive();
        await send({ type: "websocket.accept" });
        await send({ type: "websocket.close" });
      });
      const client = await connect(`ws://127.0.0.1:${port}/`);

      expect(await client.closed).to.deep.equal({ code: 1000, reason: "" });
    });

    it("closes with 1000 when the app returns", async () => {
      const { port, logger } = await startWebSocketServer(async (_scope, receive, send) => {
        await receive();
        await send({ type: "websocket.accept" });
      });
      const client = await connect(`ws://127.0.0.1:${port}/`);

      expect((await client.closed).code).to.equal(1000);
      expect(logger.at("error")).to.deep.equal([]);
    });

    it("closes with 1011 when the app raises", async () => {
      const { port, logger } = await startWebSocketServer(async (_scope, receive, send) => {
        await receive();
        await send({ type: "websocket.accept" });
        throw new Error("socket boom");
      });
      const client = await connect(`ws://127.0.0.1:${port}/`);

      expect((await client.closed).code).to.equal(1011);
      await waitUntil(() => logger.at("error").length === 1, "the error was logged");
      expect((logger.at("error")[0].context.err as Error).message).to.equal("socket boom");
    });

    it("rejects invalid close codes and reasons", async () => {
      const outcomes = deferred<string[]>();
      const { port } = await startWebSocketServer(async (_scope, receive, send) => {
        await receive();
        await send({ type: "websocket.accept" });
        const results: string[] = [];
        for (const code of [999, 1005, 1006, 1015, 2999, 5000, 1000.5]) {
          results.push(await errorName(send({ type: "websocket.close", code })));
        }
        results.push(await errorName(send({ type: "websocket.close", reason: "x".repeat(124) })));
        results.push(await errorName(send({ type: "websocket.close", reason: "é".repeat(62) })));
        results.push(await errorName(send({ type: "websocket.close", reason: "a\ud800" })));
        outcomes.resolve(results);
        await send({ type: "websocket.close", code: 3000, reason: "x".repeat(123) });
      });
      const client = await connect(`ws://127.0.0.1:${port}/`);

      const closed = await client.closed;

      expect(await outcomes.promise).to.deep.equal(Array(10).fill(ASGIProtocolError.name));
      expect(closed.code).to.equal(3000);
      expect(closed.reason).to.have.length(123);
    });

    it("closes idle sockets after idleTimeout", async function () {
      this.timeout(30000);
      const collected = deferred<ReceiveMessage[]>();
      const { port } = await startWebSocketServer(
        async (_scope, receive, send) => collected.resolve(await acceptAndCollect(receive, send)),
        { websocket: { idleTimeout: 8 } },
      );
      const connection = await RawConnection.open(port);

      // A raw client completes the handshake and then ignores uWS's pings.
      connection.write(
        "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      );
      const handshake = await connection.readResponse({ bodyless: true });
      const started = Date.now();
      const messages = await within(collected.promise, 20000, "the idle timeout");
      await connection.waitClose();

      expect(handshake.status).to.equal(101);
      expect(Date.now() - started).to.be.at.least(4000);
      expect(messages).to.have.length(1);
      expect(messages[0]).to.include({ type: "websocket.disconnect", code: 1006 });
    });
  });

  describe("backpressure", () => {
    it("waits for a slow client", async function () {
      this.timeout(30000);
      const messageSize = 64 * 1024;
      const count = 160;
      let sent = 0;
      let finished = false;
      const { port } = await startWebSocketServer(
        async (_scope, receive, send) => {
          await receive();
          await send({ type: "websocket.accept" });
          for (let i = 0; i < count; i++) {
            await send({ type: "websocket.send", bytes: Buffer.alloc(messageSize, i % 256) });
            sent += 1;
          }
          finished = true;
          await receive();
        },
        { websocket: { maxBackpressure: 64 * 1024 } },
      );
      const client = await connect(`ws://127.0.0.1:${port}/`);
      const rawSocket = (client.socket as unknown as { _socket: { pause(): void; resume(): void } })
        ._socket;

      rawSocket.pause();
      await waitUntil(() => sent > 0, "the first message was sent");
      // The client does not read, so the buffer fills and sends must wait for it to drain.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const sentWhilePaused = sent;
      const finishedWhilePaused = finished;
      rawSocket.resume();

      await waitUntil(() => client.messages.length === count, "every message arrived", 20000);
      client.socket.close();
      await client.closed;

      expect(finishedWhilePaused).to.equal(false);
      expect(sentWhilePaused).to.be.below(count);
      expect(client.messages.map((message) => message.data[0])).to.deep.equal(
        Array.from({ length: count }, (_, i) => i % 256),
      );
    });
  });
});
