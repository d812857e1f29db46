import { expect } from "chai";

import { WebSocket } from "../../lib/connection/websocket";
import { ASGIProtocolError, ClientException, WebSocketDisconnect } from "../../lib/exceptions";
import type { SendMessage, WebSocketReceiveMessage } from "../../lib/types/asgi";
import { queueReceive, websocketScope } from "../app/fixtures";

const CONNECT: WebSocketReceiveMessage = { type: "websocket.connect" };

function text(value: string): WebSocketReceiveMessage {
  return { type: "websocket.receive", text: value };
}

function bytes(value: string): WebSocketReceiveMessage {
  return { type: "websocket.receive", bytes: Buffer.from(value) };
}

function disconnect(code = 1000, reason?: string): WebSocketReceiveMessage {
  return { type: "websocket.disconnect", code, reason };
}

function socket(messages: WebSocketReceiveMessage[]): { ws: WebSocket; sent: SendMessage[] } {
  const sent: SendMessage[] = [];
  const ws = new WebSocket(websocketScope("/ws"), queueReceive(messages), async (message) => {
    sent.push(message);
  });

  return { ws, sent };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the promise to reject");
}

describe("WebSocket", () => {
  it("accepts after connect", async () => {
    const { ws, sent } = socket([CONNECT]);
    await ws.accept({ subprotocol: "chat", headers: { "X-Extra": "1" } });

    expect(sent).to.deep.equal([
      { type: "websocket.accept", subprotocol: "chat", headers: [["x-extra", "1"]] },
    ]);
    expect(ws.clientState).to.equal("CONNECTED");
    expect(ws.applicationState).to.equal("CONNECTED");
  });

  it("rejects a second accept", async () => {
    const { ws } = socket([CONNECT]);
    await ws.accept();

    expect(await rejection(ws.accept())).to.be.instanceOf(ASGIProtocolError);
  });

  it("rejects accept without connect", async () => {
    const { ws } = socket([text("early")]);

    expect(await rejection(ws.accept())).to.be.instanceOf(ASGIProtocolError);
  });

  it("accepts on first receive", async () => {
    const { ws, sent } = socket([CONNECT, text("hi")]);

    expect(await ws.receiveText()).to.equal("hi");
    expect(sent[0].type).to.equal("websocket.accept");
  });

  it("receives text and bytes", async () => {
    const { ws } = socket([CONNECT, text("a"), bytes("b"), text("c"), bytes("d")]);
    await ws.accept();

    expect(await ws.receiveMessage()).to.equal("a");
    expect(Buffer.from((await ws.receiveMessage()) as Uint8Array).toString()).to.equal("b");
    expect(Buffer.from(await ws.receiveBytes()).toString()).to.equal("c");
    expect(await ws.receiveText()).to.equal("d");
  });

  it("parses JSON frames", async () => {
    const { ws } = socket([CONNECT, text('{"a":1}'), text("nope")]);

    expect(await ws.receiveJson()).to.deep.equal({ a: 1 });
    expect(await rejection(ws.receiveJson())).to.be.instanceOf(ClientException);
  });

  it("throws WebSocketDisconnect with code", async () => {
    const { ws } = socket([CONNECT, disconnect(4001, "bye")]);
    await ws.accept();
    const error = await rejection(ws.receiveText());

    expect(error).to.be.instanceOf(WebSocketDisconnect);
    expect((error as WebSocketDisconnect).closeCode).to.equal(4001);
    expect((error as WebSocketDisconnect).reason).to.equal("bye");
    expect(ws.clientState).to.equal("DISCONNECTED");
  });

  it("throws again without receiving", async () => {
    let calls = 0;
    const queued = queueReceive([CONNECT, disconnect(1001)]);
    const ws = new WebSocket(
      websocketScope("/"),
      () => {
        calls++;
        return queued();
      },
      async () => undefined,
    );
    await ws.accept();
    await rejection(ws.receiveText());
    const error = await rejection(ws.receiveText());

    expect((error as WebSocketDisconnect).closeCode).to.equal(1001);
    expect(calls).to.equal(2);
  });

  it("sends text, bytes and JSON", async () => {
    const { ws, sent } = socket([CONNECT]);
    await ws.accept();
    await ws.sendText("t");
    await ws.sendBytes(Buffer.from("b"));
    await ws.sendJson({ a: 1 });
    await ws.sendJson([1], "binary");

    expect(sent.slice(1)).to.deep.equal([
      { type: "websocket.send", text: "t" },
      { type: "websocket.send", bytes: Buffer.from("b") },
      { type: "websocket.send", text: '{"a":1}' },
      { type: "websocket.send", bytes: Buffer.from("[1]") },
    ]);
  });

  it("closes with code and reason", async () => {
    const { ws, sent } = socket([CONNECT]);
    await ws.accept();
    await ws.close(4000, "done");

    expect(sent[1]).to.deep.equal({ type: "websocket.close", code: 4000, reason: "done" });
    expect(ws.applicationState).to.equal("DISCONNECTED");
  });

  it("closes with 1000 by default", async () => {
    const { ws, sent } = socket([CONNECT]);
    await ws.accept();
    await ws.close();

    expect(sent[1]).to.deep.equal({ type: "websocket.close", code: 1000, reason: "" });
  });

  it("close twice sends once", async () => {
    const { ws, sent } = socket([CONNECT]);
    await ws.accept();
    await ws.close();
    await ws.close();

    expect(sent.filter((message) => message.type === "websocket.close")).to.have.length(1);
  });

  it("close before accept sends close", async () => {
    const { ws, sent } = socket([CONNECT]);
    await ws.close();

    expect(sent).to.deep.equal([{ type: "websocket.close", code: 1000, reason: "" }]);
  });

  it("rejects send after close", async () => {
    const { ws } = socket([CONNECT]);
    await ws.accept();
    await ws.close();

    expect(await rejection(ws.sendText("late"))).to.be.instanceOf(ASGIProtocolError);
  });

  it("rejects send after disconnect", async () => {
    const { ws } = socket([CONNECT, disconnect(1001)]);
    await ws.accept();
    await rejection(ws.receiveText());

    expect(await rejection(ws.sendText("late"))).to.be.instanceOf(WebSocketDisconnect);
  });

  it("iterates until disconnect", async () => {
    const { ws } = socket([CONNECT, text("a"), bytes("b"), disconnect(1000)]);
    const received: string[] = [];
    for await (const message of ws.iterText()) received.push(message);

    expect(received).to.deep.equal(["a", "b"]);
  });

  it("iterates raw messages", async () => {
    const { ws } = socket([CONNECT, text("a"), bytes("b"), disconnect(1005)]);
    const received: (string | Uint8Array)[] = [];
    for await (const message of ws) received.push(message);

    expect(received[0]).to.equal("a");
    expect(Buffer.from(received[1] as Uint8Array).toString()).to.equal("b");
    expect(received).to.have.length(2);
  });

  it("iterates JSON and bytes", async () => {
    const { ws } = socket([CONNECT, text("[1]"), text("2"), disconnect()]);
    const values: unknown[] = [];
    for await (const value of ws.iterJson()) values.push(value);

    expect(values).to.deep.equal([[1], 2]);

    const other = socket([CONNECT, text("x"), disconnect()]).ws;
    const chunks: string[] = [];
    for await (const value of other.iterBytes()) chunks.push(Buffer.from(value).toString());
    expect(chunks).to.deep.equal(["x"]);
  });

  it("reports offered subprotocols", () => {
    const ws = new WebSocket(websocketScope("/", { subprotocols: ["a", "b"] }));

    expect(ws.subprotocols).to.deep.equal(["a", "b"]);
  });
});
