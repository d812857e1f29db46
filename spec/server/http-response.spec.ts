import net from "node:net";

import { expect } from "chai";

import { ASGIProtocolError } from "../../lib/exceptions";
import type { Headers, Receive, Scope, Send, SendMessage } from "../../lib/types/asgi";
import { headerValue, headerValues, RawConnection, rawRequest } from "../helpers/raw-http";
import { closeServers, deferred, startServer, waitUntil, within } from "../helpers/server-harness";

/** Starts a server whose app sends `messages` in order, recording what each send did. */
async function sendSequence(messages: SendMessage[]) {
  const outcomes: string[] = [];
  const done = deferred();
  const started = await startServer(async (scope: Scope, _receive: Receive, send: Send) => {
    if (scope.type !== "http") return;

    try {
      for (const message of messages) {
        try {
          await send(message);
          outcomes.push("ok");
        } catch (error) {
          outcomes.push(error instanceof ASGIProtocolError ? "protocol error" : String(error));
        }
      }
    } finally {
      done.resolve();
    }
  });

  return { ...started, outcomes, done: done.promise };
}

const GET = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";

describe("HTTP response", () => {
  afterEach(closeServers);

  it("sends status, headers and body", async () => {
    const { port, outcomes, done } = await sendSequence([
      {
        type: "http.response.start",
        status: 201,
        headers: [
          ["content-type", "text/plain"],
          ["x-multi", "1"],
          ["X-Multi", "2"],
        ],
      },
      { type: "http.response.body", body: Buffer.from("created") },
    ]);

    const response = await rawRequest(port, GET);

    await done;

    expect(outcomes.filter((outcome) => outcome !== "ok")).to.deep.equal([]);

    expect(response.status).to.equal(201);
    expect(response.reason).to.equal("Created");
    expect(headerValue(response, "content-type")).to.equal("text/plain");
    expect(headerValues(response, "x-multi")).to.deep.equal(["1", "2"]);
    expect(headerValues(response, "content-length")).to.deep.equal(["7"]);
    expect(response.body.toString()).to.equal("created");
  });

  it("sends latin-1 header bytes", async () => {
    const { port, outcomes, done } = await sendSequence([
      {
        type: "http.response.start",
        status: 200,
        headers: [
          ["x-latin", "caf\xe9"],
          [Buffer.from("x-bytes"), Buffer.from([0x61, 0xff, 0x62])] as never,
        ],
      },
      { type: "http.response.body" },
    ]);

    const response = await rawRequest(port, GET);

    await done;

    expect(outcomes.filter((outcome) => outcome !== "ok")).to.deep.equal([]);

    expect(headerValue(response, "x-latin")).to.equal("caf\xe9");
    expect(headerValue(response, "x-bytes")).to.equal("a\xffb");
  });

  it("sends one Content-Length", async () => {
    const { port, outcomes, done } = await sendSequence([
      { type: "http.response.start", status: 200, headers: [["Content-Length", "5"]] },
      { type: "http.response.body", body: Buffer.from("hello") },
    ]);

    const response = await rawRequest(port, GET);

    await done;

    expect(outcomes.filter((outcome) => outcome !== "ok")).to.deep.equal([]);

    expect(headerValues(response, "content-length")).to.deep.equal(["5"]);
    expect(response.body.toString()).to.equal("hello");
  });

  it("drops the app's Date", async () => {
    const { port, outcomes, done } = await sendSequence([
      { type: "http.response.start", status: 200, headers: [["date", "yesterday"]] },
      { type: "http.response.body" },
    ]);

    const response = await rawRequest(port, GET);

    await done;

    expect(outcomes.filter((outcome) => outcome !== "ok")).to.deep.equal([]);

    expect(headerValues(response, "date")).to.have.length(1);
    expect(headerValue(response, "date")).not.to.equal("yesterday");
  });

  it("accepts an undefined body", async () => {
    const { port, outcomes, done } = await sendSequence([
      { type: "http.response.start", status: 200 },
      { type: "http.response.body" },
    ]);

    const response = await rawRequest(port, GET);

    await done;

    expect(outcomes.filter((outcome) => outcome !== "ok")).to.deep.equal([]);

    expect(headerValue(response, "content-length")).to.equal("0");
    expect(response.body.length).to.equal(0);
  });

  describe("streaming", () => {
    it("uses chunked encoding", async () => {
      const { port, outcomes } = await sendSequence([
        { type: "http.response.start", status: 200, headers: [["transfer-encoding", "chunked"]] },
        { type: "http.response.body", body: Buffer.from("one "), more_body: true },
        { type: "http.response.body", body: Buffer.alloc(0), more_body: true },
        { type: "http.response.body", body: Buffer.from("two "), more_body: true },
        { type: "http.response.body", body: Buffer.from("three") },
      ]);

      const response = await rawRequest(port, GET);

      expect(headerValues(response, "transfer-encoding")).to.deep.equal(["chunked"]);
      expect(headerValue(response, "content-length")).to.equal(undefined);
      expect(response.body.toString()).to.equal("one two three");
      expect(outcomes).to.deep.equal(["ok", "ok", "ok", "ok", "ok"]);
    });

    it("keeps a declared Content-Length", async () => {
      const { port, outcomes, done } = await sendSequence([
        { type: "http.response.start", status: 200, headers: [["content-length", "8"]] },
        { type: "http.response.body", body: Buffer.from("abc"), more_body: true },
        { type: "http.response.body", body: Buffer.from("defgh"), more_body: true },
        { type: "http.response.body", body: Buffer.alloc(0), more_body: true },
        { type: "http.response.body", body: Buffer.alloc(0) },
        { type: "http.response.body", body: Buffer.alloc(0) },
      ]);

      const response = await rawRequest(port, GET);
      await done;

      expect(outcomes).to.deep.equal(["ok", "ok", "ok", "ok", "ok", "protocol error"]);
      expect(headerValues(response, "content-length")).to.deep.equal(["8"]);
      expect(headerValue(response, "transfer-encoding")).to.equal(undefined);
      expect(response.body.toString()).to.equal("abcdefgh");
    });

    it("rejects content beyond Content-Length", async () => {
      const { port, outcomes, done } = await sendSequence([
        { type: "http.response.start", status: 200, headers: [["content-length", "4"]] },
        { type: "http.response.body", body: Buffer.from("abc"), more_body: true },
        { type: "http.response.body", body: Buffer.from("de"), more_body: true },
      ]);
      const connection = await RawConnection.open(port);

      connection.write(GET);
      await within(done, 2000, "the app finished");
      connection.destroy();

      expect(outcomes).to.deep.equal(["ok", "ok", "protocol error"]);
    });

    it("rejects content short of Content-Length", async () => {
      const { port, outcomes, done } = await sendSequence([
        { type: "http.response.start", status: 200, headers: [["content-length", "10"]] },
        { type: "http.response.body", body: Buffer.from("abc") },
      ]);
      const connection = await RawConnection.open(port);

      connection.write(GET);
      await within(done, 2000, "the app finished");
      await connection.waitClose();

      expect(outcomes).to.deep.equal(["ok", "protocol error"]);
    });

    for (const declared of [false, true]) {
      it(`waits for a slow reader${declared ? " with length" : ""}`, async function () {
        this.timeout(30000);
        const chunkSize = 256 * 1024;
        const chunks = 96;
        let sent = 0;
        let finished = false;
        let longestSend = 0;

        const headers: Headers = declared ? [["content-length", String(chunkSize * chunks)]] : [];
        const { port } = await startServer(async (scope: Scope, _receive: Receive, send: Send) => {
          if (scope.type !== "http") return;

          await send({ type: "http.response.start", status: 200, headers });
          for (let i = 0; i < chunks; i++) {
            const started = Date.now();
            await send({
              type: "http.response.body",
              body: Buffer.alloc(chunkSize, i % 256),
              more_body: i < chunks - 1,
            });
            longestSend = Math.max(longestSend, Date.now() - started);
            sent += 1;
          }
          finished = true;
        });

        const socket = net.connect(port, "127.0.0.1");
        const received: Buffer[] = [];
        let receivedBytes = 0;
        socket.on("data", (chunk: Buffer) => {
          received.push(chunk);
          receivedBytes += chunk.length;
        });
        socket.pause();
        socket.write(GET);

        await waitUntil(() => sent > 0, "the app sent its first chunk");
        // Nothing reads the socket now, so sends must stall well before the body is done.
        await new Promise((resolve) => setTimeout(resolve, 300));
        const sentWhilePaused = sent;
        const finishedWhilePaused = finished;

        socket.resume();
        await waitUntil(() => finished, "the app sent every chunk", 20000);
        const bodyStart = () => Buffer.concat(received).indexOf("\r\n\r\n") + 4;
        await waitUntil(
          () => receivedBytes - bodyStart() >= chunkSize * chunks,
          "the client read every byte",
          20000,
        );
        socket.destroy();

        expect(finishedWhilePaused).to.equal(false);
        expect(sentWhilePaused).to.be.below(chunks);
        expect(longestSend).to.be.at.least(100);

        const raw = Buffer.concat(received);
        const body = raw.subarray(raw.indexOf("\r\n\r\n") + 4);
        if (declared) {
          expect(body.length).to.equal(chunkSize * chunks);
          expect(body[0]).to.equal(0);
          expect(body[body.length - 1]).to.equal((chunks - 1) % 256);
        } else {
          expect(raw.subarray(0, raw.indexOf("\r\n\r\n")).toString()).to.include(
            "Transfer-Encoding: chunked",
          );
          expect(body.subarray(body.length - 5).toString()).to.equal("0\r\n\r\n");
        }
      });
    }
  });

  describe("without body", () => {
    it("sends HEAD with the app's length", async () => {
      const { port, outcomes, done } = await sendSequence([
        { type: "http.response.start", status: 200, headers: [["content-length", "11"]] },
        { type: "http.response.body", body: Buffer.from("hello world") },
      ]);
      const connection = await RawConnection.open(port);

      connection.write("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
      const head = await connection.readResponse({ bodyless: true });
      connection.write(GET);
      const get = await connection.readResponse();
      connection.destroy();

      await done;

      expect(outcomes.filter((outcome) => outcome !== "ok")).to.deep.equal([]);

      expect(head.status).to.equal(200);
      expect(headerValues(head, "content-length")).to.deep.equal(["11"]);
      expect(get.body.toString()).to.equal("hello world");
    });

    it("reports HEAD body length", async () => {
      const { port, outcomes, done } = await sendSequence([
        { type: "http.response.start", status: 200 },
        { type: "http.response.body", body: Buffer.from("12345") },
      ]);
      const connection = await RawConnection.open(port);

      connection.write("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
      const head = await connection.readResponse({ bodyless: true });
      connection.write(GET);
      const get = await connection.readResponse();
      connection.destroy();

      await done;

      expect(outcomes.filter((outcome) => outcome !== "ok")).to.deep.equal([]);

      expect(headerValues(head, "content-length")).to.deep.equal(["5"]);
      expect(connection.pending().length).to.equal(0);
      expect(get.body.toString()).to.equal("12345");
    });

    it("ends a streamed HEAD", async () => {
      const { port, outcomes, done } = await sendSequence([
        { type: "http.response.start", status: 200 },
        { type: "http.response.body", body: Buffer.from("abc"), more_body: true },
        { type: "http.response.body", body: Buffer.from("def") },
      ]);
      const connection = await RawConnection.open(port);

      connection.write("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
      const head = await connection.readResponse({ bodyless: true });
      connection.write(GET);
      const get = await connection.readResponse();
      connection.destroy();

      await done;

      expect(outcomes.filter((outcome) => outcome !== "ok")).to.deep.equal([]);

      expect(head.status).to.equal(200);
      expect(get.body.toString()).to.equal("abcdef");
    });

    for (const status of [204, 304]) {
      it(`drops the body of ${status}`, async () => {
        const { port, outcomes, done } = await sendSequence([
          { type: "http.response.start", status, headers: [["etag", '"v1"']] },
          { type: "http.response.body", body: Buffer.from("ignored") },
        ]);
        const connection = await RawConnection.open(port);

        connection.write(GET);
        const first = await connection.readResponse();
        connection.write(GET);
        const second = await connection.readResponse();
        connection.destroy();

        await done;

        expect(outcomes.filter((outcome) => outcome !== "ok")).to.deep.equal([]);

        expect(first.status).to.equal(status);
        expect(headerValue(first, "etag")).to.equal('"v1"');
        expect(headerValue(first, "content-length")).to.equal(undefined);
        expect(second.status).to.equal(status);
        expect(connection.pending().length).to.equal(0);
      });
    }

    it("drops Content-Length on 204", async () => {
      const { port, outcomes, done } = await sendSequence([
        {
          type: "http.response.start",
          status: 204,
          headers: [
            ["content-length", "7"],
            ["transfer-encoding", "chunked"],
          ],
        },
        { type: "http.response.body", body: Buffer.from("ignored") },
      ]);
      const connection = await RawConnection.open(port);

      connection.write(GET);
      const response = await connection.readResponse({ bodyless: true });
      connection.write(GET);
      const second = await connection.readResponse({ bodyless: true });
      connection.destroy();

      await done;

      expect(outcomes.filter((outcome) => outcome !== "ok")).to.deep.equal([]);

      expect(response.status).to.equal(204);
      expect(headerValues(response, "content-length")).to.deep.equal([]);
      expect(headerValues(response, "transfer-encoding")).to.deep.equal([]);
      expect(second.status).to.equal(204);
      expect(connection.pending().length).to.equal(0);
    });

    it("sends HEAD 204 without length", async () => {
      const { port, outcomes, done } = await sendSequence([
        { type: "http.response.start", status: 204 },
        { type: "http.response.body", body: Buffer.from("ignored") },
      ]);

      const response = await rawRequest(port, "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", {
        bodyless: true,
      });

      await done;

      expect(outcomes.filter((outcome) => outcome !== "ok")).to.deep.equal([]);

      expect(response.status).to.equal(204);
      expect(headerValues(response, "content-length")).to.deep.equal([]);
    });

    it("forwards Content-Length on 304", async () => {
      const { port, outcomes, done } = await sendSequence([
        { type: "http.response.start", status: 304, headers: [["content-length", "42"]] },
        { type: "http.response.body" },
      ]);

      const response = await rawRequest(port, GET);

      await done;

      expect(outcomes.filter((outcome) => outcome !== "ok")).to.deep.equal([]);

      expect(response.status).to.equal(304);
      expect(headerValues(response, "content-length")).to.deep.equal(["42"]);
    });
  });

  describe("invalid head", () => {
    const invalid: Array<[string, SendMessage]> = [
      [
        "CR LF in a value",
        { type: "http.response.start", status: 200, headers: [["x-a", "b\r\nSet-Cookie: x=1"]] },
      ],
      ["LF in a value", { type: "http.response.start", status: 200, headers: [["x-a", "b\nc"]] }],
      ["NUL in a value", { type: "http.response.start", status: 200, headers: [["x-a", "b\0"]] }],
      [
        "CR LF in a name",
        { type: "http.response.start", status: 200, headers: [["x-a\r\nx-b", "c"]] },
      ],
      ["space in a name", { type: "http.response.start", status: 200, headers: [["x a", "b"]] }],
      ["value above latin-1", { type: "http.response.start", status: 200, headers: [["x", "€"]] }],
      ["status 99", { type: "http.response.start", status: 99 }],
      ["status 100", { type: "http.response.start", status: 100 }],
      ["status 101", { type: "http.response.start", status: 101 }],
      ["status 103", { type: "http.response.start", status: 103 }],
      ["status 199", { type: "http.response.start", status: 199 }],
      ["status 1000", { type: "http.response.start", status: 1000 }],
      ["status 200.5", { type: "http.response.start", status: 200.5 }],
      ["status as string", { type: "http.response.start", status: "200" as never }],
      [
        "a header triple",
        { type: "http.response.start", status: 200, headers: [["a", "b", "c"]] as never },
      ],
      ["headers as object", { type: "http.response.start", status: 200, headers: {} as never }],
      [
        "invalid Content-Length",
        { type: "http.response.start", status: 200, headers: [["content-length", "1e3"]] },
      ],
    ];

    it("discards a failed head", async () => {
      const { port, outcomes } = await sendSequence([
        {
          type: "http.response.start",
          status: 200,
          headers: [
            ["x-early", "1"],
            ["connection", "close"],
            ["content-length", "99"],
            ["x-bad", "a\nb"],
          ],
        },
        { type: "http.response.start", status: 200 },
        { type: "http.response.body", body: Buffer.from("ok") },
      ]);
      const connection = await RawConnection.open(port);

      connection.write(GET);
      const response = await connection.readResponse();
      connection.write(GET);
      const second = await connection.readResponse();
      connection.destroy();

      expect(outcomes).to.deep.equal(["protocol error", "ok", "ok", "protocol error", "ok", "ok"]);
      expect(headerValue(response, "x-early")).to.equal(undefined);
      expect(headerValue(response, "connection")).to.equal(undefined);
      expect(headerValue(response, "content-length")).to.equal("2");
      expect(second.body.toString()).to.equal("ok");
    });

    for (const [name, start] of invalid) {
      it(`rejects ${name}`, async () => {
        const { port, outcomes } = await sendSequence([
          start,
          { type: "http.response.start", status: 202, headers: [["x-after", "1"]] },
          { type: "http.response.body", body: Buffer.from("recovered") },
        ]);

        const response = await rawRequest(port, GET);

        expect(outcomes).to.deep.equal(["protocol error", "ok", "ok"]);
        expect(response.status).to.equal(202);
        expect(headerValue(response, "x-after")).to.equal("1");
        expect(headerValue(response, "x-a")).to.equal(undefined);
        expect(headerValue(response, "set-cookie")).to.equal(undefined);
      });
    }

    it("accepts tab and status 599", async () => {
      const { port, outcomes, done } = await sendSequence([
        { type: "http.response.start", status: 599, headers: [["x-tab", "a\tb"]] },
        { type: "http.response.body" },
      ]);

      const response = await rawRequest(port, GET);

      await done;

      expect(outcomes.filter((outcome) => outcome !== "ok")).to.deep.equal([]);

      expect(response.status).to.equal(599);
      expect(headerValue(response, "x-tab")).to.equal("a\tb");
    });

    it("rejects a non-bytes body", async () => {
      const { port, outcomes, done } = await sendSequence([
        { type: "http.response.start", status: 200 },
        { type: "http.response.body", body: "text" as never },
        { type: "http.response.body", body: Buffer.from("bytes") },
      ]);

      const response = await rawRequest(port, GET);
      await done;

      expect(outcomes).to.deep.equal(["ok", "protocol error", "ok"]);
      expect(response.body.toString()).to.equal("bytes");
    });
  });

  describe("connection close", () => {
    it("honours the app's Connection close", async () => {
      const { port, outcomes, done } = await sendSequence([
        { type: "http.response.start", status: 200, headers: [["connection", "close"]] },
        { type: "http.response.body", body: Buffer.from("bye") },
      ]);
      const connection = await RawConnection.open(port);

      connection.write(GET);
      const response = await connection.readResponse();
      await connection.waitClose();

      await done;

      expect(outcomes.filter((outcome) => outcome !== "ok")).to.deep.equal([]);

      expect(
        headerValues(response, "connection").map((value) => value.toLowerCase()),
      ).to.deep.equal(["close"]);
      expect(response.body.toString()).to.equal("bye");
    });

    it("announces close on a streamed response", async () => {
      const { port, outcomes, done } = await sendSequence([
        { type: "http.response.start", status: 200, headers: [["Connection", "close"]] },
        { type: "http.response.body", body: Buffer.from("a"), more_body: true },
        { type: "http.response.body", body: Buffer.from("b") },
      ]);

      const response = await rawRequest(port, GET);

      await done;

      expect(outcomes.filter((outcome) => outcome !== "ok")).to.deep.equal([]);

      expect(headerValues(response, "connection")).to.deep.equal(["close"]);
      expect(response.body.toString()).to.equal("ab");
    });
  });
});
