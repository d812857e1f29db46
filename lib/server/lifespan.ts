/**
 * The ASGI lifespan protocol (asgiref `specs/lifespan.rst`, spec version 2.0): one app call with
 * a `lifespan` scope that lives as long as the server, completing `lifespan.startup` before the
 * server listens and `lifespan.shutdown` after it stopped.
 */
import { ASGIProtocolError, LifespanError } from "../exceptions";
import type { Logger } from "../logger";
import type { ASGIApp, LifespanReceiveMessage, LifespanScope, Receive, Send } from "../types/asgi";
import type { LifespanMode } from "./options";

const PHASE_IDLE = 0;
const PHASE_STARTING = 1;
const PHASE_STARTED = 2;
const PHASE_STOPPING = 3;
const PHASE_STOPPED = 4;

interface Outcome {
  ok: boolean;
  message?: string;
  cause?: unknown;
}

export class Lifespan {
  /** The namespace the app fills during startup; every connection scope gets a copy. */
  readonly state: Record<string, unknown> = {};
  /** False when lifespan is off, or the app does not support it in "auto" mode. */
  supported: boolean;

  private phase = PHASE_IDLE;
  private pending: LifespanReceiveMessage[] = [];
  private receiveWaiter: ((message: LifespanReceiveMessage) => void) | null = null;
  private settle: ((outcome: Outcome) => void) | null = null;
  private appFinished = false;

  constructor(
    private readonly app: ASGIApp,
    private readonly mode: LifespanMode,
    private readonly logger: Logger,
  ) {
    this.supported = mode !== "off";
  }

  /** Runs startup; rejects with LifespanError when the app reports or causes a failure. */
  async startup(): Promise<void> {
    if (!this.supported) return;

    this.phase = PHASE_STARTING;
    const outcome = this.waitOutcome();
    this.deliver({ type: "lifespan.startup" });
    void this.run();

    const { ok, message, cause } = await outcome;
    if (ok) {
      this.logger.debug({}, "lifespan startup complete");
      return;
    }

    if (!this.supported) return;

    throw new LifespanError(`lifespan startup failed: ${message ?? "no message given"}`, {
      cause,
    });
  }

  /**
   * Runs shutdown, waiting at most `timeoutMs`. A failure or timeout is logged, not raised, so
   * `close()` finishes once the wait is over.
   */
  async shutdown(timeoutMs: number): Promise<void> {
    if (!this.supported || this.phase !== PHASE_STARTED) return;

    // An app that already returned or raised has nothing left to shut down.
    if (this.appFinished) return;

    this.phase = PHASE_STOPPING;
    const outcome = this.waitOutcome();
    this.deliver({ type: "lifespan.shutdown" });

    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Outcome>((resolve) => {
      timer = setTimeout(
        () => resolve({ ok: false, message: `timed out after ${timeoutMs} ms` }),
        timeoutMs,
      );
    });

    const { ok, message } = await Promise.race([outcome, timeout]);
    clearTimeout(timer);
    this.phase = PHASE_STOPPED;

    if (ok) {
      this.logger.debug({}, "lifespan shutdown complete");
      return;
    }

    this.logger.error({ reason: message }, "lifespan shutdown failed; the server stops anyway");
  }

  /**
   * Fails a startup that is still waiting for the app, so `startup()` rejects with `reason`.
   * The app's lifespan call keeps running, and a later startup message raises ASGIProtocolError.
   */
  abandonStartup(reason: string): void {
    if (this.phase !== PHASE_STARTING) return;

    this.phase = PHASE_STOPPED;
    this.logger.warn({ reason }, "lifespan startup abandoned; the server will not listen");
    this.finish({ ok: false, message: reason });
  }

  private async run(): Promise<void> {
    const scope: LifespanScope = {
      type: "lifespan",
      asgi: { version: "3.0", spec_version: "2.0" },
      state: this.state,
    };
    const receive: Receive = () => this.receive();
    const send: Send = (message) => this.send(message);

    try {
      await this.app(scope, receive, send);
      this.handleReturn();
    } catch (error) {
      this.handleError(error);
    } finally {
      this.appFinished = true;
    }
  }

  private receive(): Promise<LifespanReceiveMessage> {
    const message = this.pending.shift();
    if (message !== undefined) return Promise.resolve(message);

    return new Promise((resolve) => {
      this.receiveWaiter = resolve;
    });
  }

  private deliver(message: LifespanReceiveMessage): void {
    const waiter = this.receiveWaiter;

    if (waiter === null) {
      this.pending.push(message);
      return;
    }

    this.receiveWaiter = null;
    waiter(message);
  }

  private async send(message: unknown): Promise<void> {
    const fields = typeof message === "object" && message !== null ? message : {};
    const { type, message: text } = fields as { type?: unknown; message?: unknown };
    const detail = typeof text === "string" && text.length > 0 ? text : undefined;

    switch (type) {
      case "lifespan.startup.complete":
        this.expectPhase(PHASE_STARTING, type);
        this.phase = PHASE_STARTED;
        return this.finish({ ok: true });
      case "lifespan.startup.failed":
        this.expectPhase(PHASE_STARTING, type);
        this.phase = PHASE_STOPPED;
        return this.finish({ ok: false, message: detail });
      case "lifespan.shutdown.complete":
        this.expectPhase(PHASE_STOPPING, type);
        return this.finish({ ok: true });
      case "lifespan.shutdown.failed":
        this.expectPhase(PHASE_STOPPING, type);
        return this.finish({ ok: false, message: detail });
      default:
        throw new ASGIProtocolError(
          `Unexpected ASGI message ${JSON.stringify(type)} on the lifespan scope`,
        );
    }
  }

  private expectPhase(phase: number, type: string): void {
    if (this.phase === phase) return;

    throw new ASGIProtocolError(`Unexpected ASGI message '${type}' at this lifespan stage`);
  }

  private handleReturn(): void {
    if (this.phase === PHASE_STARTING) {
      this.finishWithoutLifespan(new Error("the app returned before completing startup"));
      return;
    }

    if (this.phase === PHASE_STOPPING) {
      this.finish({ ok: false, message: "the app returned before completing shutdown" });
    }
  }

  private handleError(error: unknown): void {
    if (this.phase === PHASE_STARTING) {
      this.finishWithoutLifespan(error);
      return;
    }

    const message = error instanceof Error ? error.message : String(error);
    this.logger.error({ err: error }, "lifespan app raised an exception");

    if (this.phase === PHASE_STOPPING) this.finish({ ok: false, message });
  }

  /** Ends a startup the app did not complete: "auto" serves without lifespan, "on" fails. */
  private finishWithoutLifespan(error: unknown): void {
    this.phase = PHASE_STOPPED;
    const message = error instanceof Error ? error.message : String(error);

    if (this.mode === "auto") {
      this.supported = false;
      this.logger.info(
        { reason: message },
        "ASGI lifespan protocol appears unsupported; serving without lifespan",
      );
      this.finish({ ok: false, message });
      return;
    }

    this.logger.error({ err: error }, "lifespan app failed during startup");
    this.finish({ ok: false, message, cause: error });
  }

  private waitOutcome(): Promise<Outcome> {
    return new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  private finish(outcome: Outcome): void {
    const settle = this.settle;
    this.settle = null;
    settle?.(outcome);
  }
}
