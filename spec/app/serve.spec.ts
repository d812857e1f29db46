import { expect } from "chai";
import WebSocketClient from "ws";

import { App } from "../../lib/app/app";
import { get, post, websocket } from "../../lib/app/handlers";
import { Response } from "../../lib/app/response";
import { silentLogger } from "../../lib/logger";
import { serve } from "../../lib/server";

const TIMEOUT_MS = 5000;

/** Opens a WebSocket client, sends `messages` after the handshake and collects the replies. */
function exchange(url: string, messages: string[], expected: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const client = new WebSocketClient(url);
    const replies: string[] = [];
    const timer = setTimeout(() => {
      client.terminate();
      reject(new Error(`timed out after ${TIMEOUT_MS} ms with ${replies.length} replies`));
    }, TIMEOUT_MS);

    client.on("open", () => messages.forEach((message) => client.send(message)));
    client.on("message", (data) => {
      replies.push(String(data));
      if (replies.length === expected) client.close(1000);
    });
    client.on("close", () => {
      clearTimeout(timer);
      resolve(replies);
    });
    client.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

describe("App through serve", () => {
  const app = new App({
    routeHandlers: [
      get("/items/{id:int}", (request) => ({
        id: request.pathParams.id,
        ready: request.state.ready,
      })),
      post("/echo", async (request) =>
        Response.json(await request.json(), { cookies: [{ key: "seen", value: "1" }] }),
      ),
      websocket("/ws", async (socket) => {
        await socket.accept();
        for await (const message of socket.iterText()) await socket.sendText(message.toUpperCase());
      }),
    ],
    onStartup: [(instance) => void (instance.state.ready = true)],
    logger: silentLogger,
  });
  let server: Awaited<ReturnType<typeof serve>>;
  let base: string;

  before(async () => {
    server = await serve(app, { host: "127.0.0.1", port: 0, logger: silentLogger });
    base = `http://127.0.0.1:${server.port}`;
  });

  after(async () => {
    await server.close();
  });

  it("routes typed params with state", async () => {
    const response = await fetch(`${base}/items/7`);

    expect(response.status).to.equal(200);
    expect(await response.json()).to.deep.equal({ id: 7, ready: true });
  });

  it("reads a JSON body and sets cookie", async () => {
    const response = await fetch(`${base}/echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ a: [1, 2] }),
    });

    expect(response.status).to.equal(200);
    expect(await response.json()).to.deep.equal({ a: [1, 2] });
    expect(response.headers.getSetCookie()).to.deep.equal(["seen=1; Path=/; SameSite=Lax"]);
  });

  it("returns 400 for invalid JSON", async () => {
    const response = await fetch(`${base}/echo`, { method: "POST", body: "{" });

    expect(response.status).to.equal(400);
    expect(await response.json()).to.deep.equal({
      status_code: 400,
      detail: "the request body is not valid JSON",
    });
  });

  it("returns 404 and 405", async () => {
    const missing = await fetch(`${base}/missing`);
    const wrongMethod = await fetch(`${base}/echo`);

    expect(missing.status).to.equal(404);
    await missing.arrayBuffer();
    expect(wrongMethod.status).to.equal(405);
    expect(wrongMethod.headers.get("allow")).to.equal("OPTIONS, POST");
    await wrongMethod.arrayBuffer();
  });

  it("answers HEAD without body", async () => {
    const full = await (await fetch(`${base}/items/1`)).arrayBuffer();
    const response = await fetch(`${base}/items/1`, { method: "HEAD" });

    expect(response.status).to.equal(200);
    expect(response.headers.get("content-length")).to.equal(String(full.byteLength));
    expect((await response.arrayBuffer()).byteLength).to.equal(0);
  });

  it("echoes over a WebSocket", async () => {
    const replies = await exchange(`ws://127.0.0.1:${server.port}/ws`, ["a", "b"], 2);

    expect(replies).to.deep.equal(["A", "B"]);
  });

  it("denies an unknown WebSocket path", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const client = new WebSocketClient(`ws://127.0.0.1:${server.port}/nope`);
      client.on("unexpected-response", (_request, response) => {
        resolve(response.statusCode ?? 0);
        response.resume();
        client.terminate();
      });
      client.on("open", () => reject(new Error("the handshake was accepted")));
      client.on("error", () => undefined);
    });

    expect(status).to.equal(404);
  });

  it("runs shutdown hooks on close", async () => {
    const calls: string[] = [];
    const other = new App({
      routeHandlers: [get("/", () => "x")],
      onStartup: [() => void calls.push("startup")],
      onShutdown: [() => void calls.push("shutdown")],
      logger: silentLogger,
    });
    const otherServer = await serve(other, { host: "127.0.0.1", port: 0, logger: silentLogger });
    expect(calls).to.deep.equal(["startup"]);

    await otherServer.close();
    expect(calls).to.deep.equal(["startup", "shutdown"]);
  });
});
