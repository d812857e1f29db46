import { LifespanError } from "../exceptions";
import type {
  ASGIApp,
  LifespanReceiveMessage,
  LifespanScope,
  LifespanSendMessage,
} from "../types/asgi";
import { MessageQueue } from "./queue";

type AppEvent =
  { kind: "message"; message: LifespanSendMessage } | { kind: "exit"; error?: unknown };

/**
 * Drives the ASGI lifespan protocol of an app in-process: `startup()` before the first request,
 * `shutdown()` after the last one. An app that raises or returns before replying to the
 * startup event does not support lifespan. As the ASGI lifespan spec asks of servers, the app
 * then runs without it.
 */
export class LifeSpanHandler {
  readonly scope: LifespanScope;
  /** False when the app does not support the lifespan protocol. */
  supported = true;
  private readonly app: ASGIApp;
  private readonly timeoutMs: number;
  private readonly fromServer = new MessageQueue<LifespanReceiveMessage>();
  private readonly fromApp = new MessageQueue<AppEvent>();
  private appExit: Promise<void> | null = null;
  private started = false;

  constructor(app: ASGIApp, timeoutMs: number) {
    this.app = app;
    this.timeoutMs = timeoutMs;
    this.scope = { type: "lifespan", asgi: { version: "3.0", spec_version: "2.0" }, state: {} };
  }

  /**
   * Sends `lifespan.startup` and waits for the reply.
   *
   * @throws LifespanError when the app reports `lifespan.startup.failed`.
   */
  async startup(): Promise<void> {
    this.appExit = this.runApp();
    this.fromServer.push({ type: "lifespan.startup" });

    const event = await this.fromApp.shift(this.timeoutMs, "lifespan.startup.complete");
    if (event.kind === "exit") {
      this.supported = false;
      return;
    }

    if (event.message.type === "lifespan.startup.failed") {
      throw new LifespanError(`lifespan startup failed: ${event.message.message ?? ""}`);
    }

    expectType(event.message, "lifespan.startup.complete");
    this.started = true;
  }

  /**
   * Sends `lifespan.shutdown`, waits for the reply and for the app to return.
   *
   * @throws LifespanError when the app reports `lifespan.shutdown.failed`.
   */
  async shutdown(): Promise<void> {
    if (!this.started) return;
    this.started = false;

    this.fromServer.push({ type: "lifespan.shutdown" });
    const event = await this.fromApp.shift(this.timeoutMs, "lifespan.shutdown.complete");
    await this.appExit;

    if (event.kind === "exit") {
      if (event.error !== undefined) throw event.error;
      return;
    }

    if (event.message.type === "lifespan.shutdown.failed") {
      throw new LifespanError(`lifespan shutdown failed: ${event.message.message ?? ""}`);
    }

    expectType(event.message, "lifespan.shutdown.complete");
  }

  private async runApp(): Promise<void> {
    const receive = () => this.fromServer.shift();
    const send = async (message: LifespanSendMessage) => {
      this.fromApp.push({ kind: "message", message });
    };

    try {
      await this.app(this.scope, receive, send as Parameters<ASGIApp>[2]);
      this.fromApp.push({ kind: "exit" });
    } catch (error) {
      this.fromApp.push({ kind: "exit", error });
    }
  }
}

function expectType(message: LifespanSendMessage, expected: LifespanSendMessage["type"]): void {
  if (message.type !== expected) {
    throw new LifespanError(`expected ${expected} from the app, got ${message.type}`);
  }
}
