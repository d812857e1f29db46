import http from "node:http";

import { expect } from "chai";

import { ClientDisconnectedError } from "../../lib/exceptions";
import type { HTTPRequestEvent, Receive, ReceiveMessage, Scope, Send } from "../../lib/types/asgi";
import { RawConnection, rawRequest } from "../helpers/raw-http";
import { closeServers, deferred, startServer, waitUntil, within } from "../helpers/server-harness";

type BodyMessage = { body: string; more_body: boolean };

function describeMessage(message: ReceiveMessage): BodyMessage | string {
  if (message.type !== "http.request") return message.type;
  return { body: Buffer.from(message.body).toString("latin1"), more_body: message.more_body };
}

/** Reads the whole body and returns it with the number of messages. */
async function readAll(receive: Receive): Promise<{ body: Buffer; messages: number }> {
  const chunks: Buffer[] = [];
  let messages = 0;

  for (;;) {
    const message = (await receive()) as HTTPRequestEvent;
    messages += 1;
    if (message.type !== "http.request") throw new Error(`unexpected ${message.type}`);

    chunks.push(Buffer.from(message.body));
    if (!message.more_body) return { body: Buffer.concat(chunks), messages };
  }
}

async function respond(send: Send, status: number, body = ""): Promise<void> {
  await send({ type: "http.response.start", status, headers: [] });
  await send({ type: "http.response.body", body: Buffer.from(body) });
}

describe("HTTP request body", () => {
  afterEach(closeServers);

  it("gives GET one empty final message", async () => {
    const messages: Array<BodyMessage | string> = [];
    const { port } = await startServer(async (scope: Scope, receive: Receive, send: Send) => {
      if (scope.type !== "http") return;

      messages.push(describeMessage(await receive()));
      await respond(send, 204);
    });

    await rawRequest(port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");

    expect(messages).to.deep.equal([{ body: "", more_body: false }]);
  });

  it("delivers a Content-Length body", async () => {
    const { port } = await startServer(async (scope: Scope, receive: Receive, send: Send) => {
      if (scope.type !== "http") return;

      const { body } = await readAll(receive);
      await respond(send, 200, body.toString("latin1"));
    });

    const response = await fetch(`http://127.0.0.1:${port}/`, { method: "POST", body: "hello" });

    expect(await response.text()).to.equal("hello");
  });

  it("copies body bytes out of uWS", async () => {
    const bodies: Uint8Array[] = [];
    const { port } = await startServer(async (scope: Scope, receive: Receive, send: Send) => {
      if (scope.type !== "http") return;

      const message = (await receive()) as HTTPRequestEvent;
      // Wait a turn, so that a view into uWS's buffer would have been reused or neutered.
      await new Promise((resolve) => setImmediate(resolve));
      bodies.push(message.body);
      await respond(send, 204);
    });

    await rawRequest(port, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nabcd");
    await rawRequest(port, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nwxyz");

    expect(Buffer.from(bodies[0]).toString()).to.equal("abcd");
    expect(Buffer.from(bodies[1]).toString()).to.equal("wxyz");
  });

  it("streams a chunked body with more_body", async () => {
    const messages: Array<BodyMessage | string> = [];
    const received = [deferred(), deferred(), deferred()];
    const { port } = await startServer(async (scope: Scope, receive: Receive, send: Send) => {
      if (scope.type !== "http") return;

      for (let i = 0; i < 3; i++) {
        const message = await receive();
        messages.push(describeMessage(message));
        received[i].resolve();
        if (message.type === "http.request" && !message.more_body) break;
      }
      await respond(send, 200, "done");
    });
    const connection = await RawConnection.open(port);

    connection.write(
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
    );
    await within(received[0].promise, 2000, "first chunk");
    connection.write("3\r\ndef\r\n");
    await within(received[1].promise, 2000, "second chunk");
    connection.write("0\r\n\r\n");
    const response = await connection.readResponse();
    connection.destroy();

    expect(response.status).to.equal(200);
    expect(messages).to.deep.equal([
      { body: "abc", more_body: true },
      { body: "def", more_body: true },
      { body: "", more_body: false },
    ]);
  });

  it("delivers a large body whole", async () => {
    const size = 3 * 1024 * 1024;
    const { port } = await startServer(
      async (scope: Scope, receive: Receive, send: Send) => {
        if (scope.type !== "http") return;

        const chunks: Buffer[] = [];
        for (;;) {
          const message = (await receive()) as HTTPRequestEvent;
          chunks.push(Buffer.from(message.body));
          // A slow reader makes the server pause the socket while its queue is full.
          await new Promise((resolve) => setImmediate(resolve));
          if (!message.more_body) break;
        }

        const body = Buffer.concat(chunks);
        const valid = body.every((byte, index) => byte === index % 251);
        await respond(send, 200, `${body.length} ${valid}`);
      },
      { maxBodySize: 8 * 1024 * 1024 },
    );
    const payload = Buffer.alloc(size, 0).map((_, index) => index % 251);

    const response = await fetch(`http://127.0.0.1:${port}/`, { method: "POST", body: payload });

    expect(await response.text()).to.equal(`${size} true`);
  });

  it("sends 100 Continue on Expect", async () => {
    const { port } = await startServer(async (scope: Scope, receive: Receive, send: Send) => {
      if (scope.type !== "http") return;

      const { body } = await readAll(receive);
      await respond(send, 200, body.toString());
    });
    const connection = await RawConnection.open(port);

    connection.write(
      "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
    );
    const interim = await connection.readResponse();
    connection.write("xyz");
    const response = await connection.readResponse();
    connection.destroy();

    expect(interim.status).to.equal(100);
    expect(response.status).to.equal(200);
    expect(response.body.toString()).to.equal("xyz");
  });

  describe("disconnect", () => {
    it("waits for the response to end", async () => {
      const order: string[] = [];
      const { port } = await startServer(async (scope: Scope, receive: Receive, send: Send) => {
        if (scope.type !== "http") return;

        await receive();
        const next = receive().then((message) => order.push(`receive ${message.type}`));
        await new Promise((resolve) => setImmediate(resolve));
        order.push("start");
        await send({ type: "http.response.start", status: 200 });
        order.push("body");
        await send({ type: "http.response.body", body: Buffer.from("x") });
        await next;
      });

      await rawRequest(port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
      await waitUntil(() => order.length === 3, "the app received http.disconnect");

      expect(order).to.deep.equal(["start", "body", "receive http.disconnect"]);
    });

    it("reaches concurrent receives in order", async () => {
      const results = deferred<Array<BodyMessage | string>>();
      const waiting = deferred();
      const { port } = await startServer(async (scope: Scope, receive: Receive, _send: Send) => {
        if (scope.type !== "http") return;

        // One task reads the body while others wait for the disconnect.
        const calls = [receive(), receive(), receive()];
        waiting.resolve();
        results.resolve((await Promise.all(calls)).map(describeMessage));
      });
      const connection = await RawConnection.open(port);

      connection.write("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n");
      await within(waiting.promise, 2000, "the app waits");
      connection.write("abc");
      connection.destroy();

      expect(await within(results.promise, 2000, "every receive")).to.deep.equal([
        { body: "abc", more_body: false },
        "http.disconnect",
        "http.disconnect",
      ]);
    });

    it("wakes a waiting listener on response", async () => {
      const listened = deferred<string>();
      const { port } = await startServer(async (scope: Scope, receive: Receive, send: Send) => {
        if (scope.type !== "http") return;

        const body = receive();
        const listener = receive().then((message) => listened.resolve(message.type));
        await body;
        await respond(send, 200, "done");
        await listener;
      });

      const request = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi";
      const response = await within(rawRequest(port, request), 2000, "the response");

      expect(response.body.toString()).to.equal("done");
      expect(await within(listened.promise, 2000, "the listener woke")).to.equal("http.disconnect");
    });

    it("follows a response sent before reading", async () => {
      const after: Array<BodyMessage | string> = [];
      const { port } = await startServer(async (scope: Scope, receive: Receive, send: Send) => {
        if (scope.type !== "http") return;

        await respond(send, 200, "early");
        after.push(describeMessage(await receive()));
      });
      const connection = await RawConnection.open(port);

      connection.write("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
      const first = await connection.readResponse();
      connection.write("defghijGET /next HTTP/1.1\r\nHost: a\r\n\r\n");
      const second = await connection.readResponse();
      connection.destroy();

      expect(first.body.toString()).to.equal("early");
      expect(second.body.toString()).to.equal("early");
      expect(after).to.deep.equal(["http.disconnect", "http.disconnect"]);
    });

    it("arrives when the client aborts mid-body", async () => {
      const events: string[] = [];
      const done = deferred();
      const firstChunk = deferred();
      const app = async (scope: Scope, receive: Receive, send: Send): Promise<void> => {
        if (scope.type !== "http") return;

        const first = (await receive()) as HTTPRequestEvent;
        events.push(`${Buffer.from(first.body).toString()} ${first.more_body}`);
        firstChunk.resolve();
        events.push((await receive()).type);
        try {
          await send({ type: "http.response.start", status: 200 });
        } catch (error) {
          events.push(error instanceof ClientDisconnectedError ? "send rejected" : String(error));
        }
        done.resolve();
      };
      const { port, logger } = await startServer(app);
      const connection = await RawConnection.open(port);

      connection.write("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789");
      await within(firstChunk.promise, 2000, "first chunk");
      connection.destroy();
      await within(done.promise, 2000, "the app finished");

      expect(events).to.deep.equal(["0123456789 true", "http.disconnect", "send rejected"]);
      expect(logger.at("error")).to.deep.equal([]);
    });
  });

  describe("size limit", () => {
    it("sends 413 for a large Content-Length", async () => {
      let calls = 0;
      const { port, logger } = await startServer(
        async (scope: Scope) => {
          if (scope.type === "http") calls += 1;
        },
        { maxBodySize: 10 },
      );
      const connection = await RawConnection.open(port);

      connection.write("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n");
      const response = await connection.readResponse();
      await connection.waitClose();

      expect(response.status).to.equal(413);
      expect(calls).to.equal(0);
      expect(logger.at("error")).to.deep.equal([]);
    });

    it("accepts a body of exactly maxBodySize", async () => {
      const { port } = await startServer(
        async (scope: Scope, receive: Receive, send: Send) => {
          if (scope.type !== "http") return;

          const { body } = await readAll(receive);
          await respond(send, 200, String(body.length));
        },
        { maxBodySize: 10 },
      );

      const response = await rawRequest(
        port,
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789",
      );

      expect(response.status).to.equal(200);
      expect(response.body.toString()).to.equal("10");
    });

    it("sends 413 for a long chunked body", async () => {
      const events: Array<BodyMessage | string> = [];
      const done = deferred();
      const app = async (scope: Scope, receive: Receive, send: Send): Promise<void> => {
        if (scope.type !== "http") return;

        for (;;) {
          const message = await receive();
          events.push(describeMessage(message));
          if (message.type === "http.disconnect") break;
        }
        await send({ type: "http.response.start", status: 200 }).catch((error: unknown) => {
          events.push(error instanceof ClientDisconnectedError ? "send rejected" : String(error));
        });
        done.resolve();
      };
      const { port } = await startServer(app, { maxBodySize: 10 });
      const connection = await RawConnection.open(port);

      connection.write(
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n",
      );
      await waitUntil(() => events.length === 1, "the first chunk arrived");
      connection.write("6\r\nghijkl\r\n");
      const response = await connection.readResponse();
      await connection.waitClose();
      await within(done.promise, 2000, "the app finished");

      expect(response.status).to.equal(413);
      expect(events).to.deep.equal([
        { body: "abcdef", more_body: true },
        "http.disconnect",
        "send rejected",
      ]);
    });

    it("closes on an invalid Content-Length", async () => {
      let calls = 0;
      const { port } = await startServer(async (scope: Scope) => {
        if (scope.type === "http") calls += 1;
      });

      for (const length of ["abc", "+3", "-1"]) {
        const connection = await RawConnection.open(port);
        connection.write(`POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${length}\r\n\r\nabc`);
        await connection.waitClose();

        // uWS drops the connection itself, after the server turned the request away.
        expect(connection.pending().length, length).to.equal(0);
      }

      expect(calls).to.equal(0);
    });

    it("sends 400 for conflicting lengths", async () => {
      let calls = 0;
      const { port } = await startServer(async (scope: Scope) => {
        if (scope.type === "http") calls += 1;
      });

      const response = await rawRequest(
        port,
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
      );

      expect(response.status).to.equal(400);
      expect(calls).to.equal(0);
    });
  });

  it("serves keep-alive requests in turn", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const { port } = await startServer(async (scope: Scope, receive: Receive, send: Send) => {
      if (scope.type !== "http") return;

      const { body } = await readAll(receive);
      await respond(send, 200, `${scope.path}:${body}`);
    });

    const get = (path: string, body: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const request = http.request({ port, path, method: "POST", agent }, (response) => {
          let text = "";
          response.on("data", (chunk: Buffer) => (text += chunk.toString()));
          response.on("end", () => resolve(text));
        });
        request.on("error", reject);
        request.end(body);
      });

    const bodies = [await get("/a", "1"), await get("/b", "22"), await get("/c", "")];
    agent.destroy();

    expect(bodies).to.deep.equal(["/a:1", "/b:22", "/c:"]);
  });
});
