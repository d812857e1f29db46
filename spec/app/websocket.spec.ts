import { expect } from "chai";

import { App } from "../../lib/app/app";
import { websocket } from "../../lib/app/handlers";
import { ClientException, HTTPException } from "../../lib/exceptions";
import { silentLogger, type Logger } from "../../lib/logger";
import type { ASGIApp, SendMessage, WebSocketReceiveMessage } from "../../lib/types/asgi";
import type { WebSocket } from "../../lib/connection/websocket";
import { queueReceive, websocketScope } from "./fixtures";

async function connect(
  app: ASGIApp,
  path: string,
  messages: WebSocketReceiveMessage[],
  extensions?: Record<string, Record<string, unknown>>,
): Promise<SendMessage[]> {
  const sent: SendMessage[] = [];
  await app(websocketScope(path, { extensions }), queueReceive(messages), async (message) => {
    sent.push(message);
  });
  return sent;
}

function countingLogger(): Logger & { errors: number } {
  const logger = {
    errors: 0,
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: () => {
      logger.errors++;
    },
  };
  return logger;
}

describe("App websocket", () => {
  it("echoes until disconnect", async () => {
    const app = new App({
      routeHandlers: [
        websocket("/echo/{room:str}", async (socket: WebSocket) => {
          await socket.accept();
          for await (const message of socket.iterText()) {
            await socket.sendText(`${String(socket.pathParams.room)}:${message}`);
          }
        }),
      ],
      logger: silentLogger,
    });
    const sent = await connect(app.asgi, "/echo/lobby", [
      { type: "websocket.connect" },
      { type: "websocket.receive", text: "hi" },
      { type: "websocket.disconnect", code: 1000 },
    ]);

    expect(sent).to.deep.equal([
      { type: "websocket.accept", subprotocol: null, headers: [] },
      { type: "websocket.send", text: "lobby:hi" },
    ]);
  });

  it("closes after handler returns", async () => {
    const app = new App({
      routeHandlers: [websocket("/", (socket) => socket.accept())],
      logger: silentLogger,
    });
    const sent = await connect(app.asgi, "/", [{ type: "websocket.connect" }]);

    expect(sent.at(-1)).to.deep.equal({ type: "websocket.close", code: 1000, reason: "" });
  });

  it("closes unknown path", async () => {
    const app = new App({ routeHandlers: [], logger: silentLogger });
    const sent = await connect(app.asgi, "/nope", [{ type: "websocket.connect" }]);

    expect(sent).to.deep.equal([{ type: "websocket.close", code: 1000, reason: "" }]);
  });

  it("denies unknown path with 404", async () => {
    const app = new App({ routeHandlers: [], logger: silentLogger });
    const sent = await connect(app.asgi, "/nope", [{ type: "websocket.connect" }], {
      "websocket.http.response": {},
    });

    expect(sent[0]).to.include({ type: "websocket.http.response.start", status: 404 });
    const body = sent[1] as { body: Uint8Array };
    expect(JSON.parse(Buffer.from(body.body).toString())).to.deep.equal({
      status_code: 404,
      detail: "Not Found",
    });
  });

  it("closes with 4000 plus status", async () => {
    const app = new App({
      routeHandlers: [
        websocket("/", async (socket) => {
          await socket.accept();
          throw new HTTPException(403, "not allowed");
        }),
      ],
      logger: silentLogger,
    });
    const sent = await connect(app.asgi, "/", [{ type: "websocket.connect" }]);

    expect(sent.at(-1)).to.deep.equal({
      type: "websocket.close",
      code: 4403,
      reason: "not allowed",
    });
  });

  it("closes invalid JSON with 4400", async () => {
    const app = new App({
      routeHandlers: [
        websocket("/", async (socket) => {
          await socket.receiveJson();
        }),
      ],
      logger: silentLogger,
    });
    const sent = await connect(app.asgi, "/", [
      { type: "websocket.connect" },
      { type: "websocket.receive", text: "{" },
    ]);

    expect(sent.at(-1)).to.include({ type: "websocket.close", code: 4400 });
    expect(new ClientException().statusCode).to.equal(400);
  });

  it("closes with 1011 and logs", async () => {
    const logger = countingLogger();
    const app = new App({
      routeHandlers: [
        websocket("/", async (socket) => {
          await socket.accept();
          throw new Error("secret");
        }),
      ],
      logger,
    });
    const sent = await connect(app.asgi, "/", [{ type: "websocket.connect" }]);

    expect(sent.at(-1)).to.deep.equal({ type: "websocket.close", code: 1011, reason: "" });
    expect(logger.errors).to.equal(1);
  });

  it("ends quietly on disconnect", async () => {
    const logger = countingLogger();
    const app = new App({
      routeHandlers: [
        websocket("/", async (socket) => {
          await socket.receiveText();
        }),
      ],
      logger,
    });
    const sent = await connect(app.asgi, "/", [
      { type: "websocket.connect" },
      { type: "websocket.disconnect", code: 1001 },
    ]);

    expect(sent.map((message) => message.type)).to.deep.equal(["websocket.accept"]);
    expect(logger.errors).to.equal(0);
  });

  it("sets route handler on scope", async () => {
    const handler = websocket(
      "/ws",
      async (socket) => {
        expect(socket.routeHandler).to.equal(handler);
        await socket.close();
      },
      { opt: { a: 1 } },
    );
    const app = new App({ routeHandlers: [handler], logger: silentLogger });
    const sent = await connect(app.asgi, "/ws", [{ type: "websocket.connect" }]);

    expect(sent).to.deep.equal([{ type: "websocket.close", code: 1000, reason: "" }]);
    expect(handler.type).to.equal("websocket");
  });
});
