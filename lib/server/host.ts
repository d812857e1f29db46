/**
 * The state a server shares with its connections: options, ids, the lifespan state, and the
 * set of connections still running, which `close()` waits for.
 */
import type { Logger } from "../logger";
import type { Address, ASGIApp } from "../types/asgi";
import { RunningConnections, type ConnectionHost, type TrackedConnection } from "./context";
import type { ResolvedServeOptions } from "./options";

export class ServerHost implements ConnectionHost {
  readonly logger: Logger;
  readonly secure: boolean;
  serverAddress: Address;
  closing = false;
  /** HTTP requests whose app is still running. */
  readonly requests = new RunningConnections();
  /** WebSocket connections whose app is still running. */
  readonly webSockets = new RunningConnections();

  private readonly finishListeners = new Set<() => void>();
  private lastConnectionId = 0;

  constructor(
    readonly app: ASGIApp,
    readonly options: ResolvedServeOptions,
    private readonly state: Record<string, unknown>,
  ) {
    this.logger = options.logger;
    this.secure = options.tls !== null;
    this.serverAddress = Object.freeze([options.host, options.port]) as Address;
  }

  nextConnectionId(): number {
    return ++this.lastConnectionId;
  }

  copyState(): Record<string, unknown> {
    return { ...this.state };
  }

  connectionStarted(connection: TrackedConnection): void {
    this.connectionsOf(connection).add(connection);
  }

  connectionFinished(connection: TrackedConnection): void {
    this.connectionsOf(connection).delete(connection);

    if (this.finishListeners.size === 0) return;
    for (const listener of this.finishListeners) listener();
  }

  /** Resolves true once `connections` is empty, or false after `shutdownTimeout`. */
  waitUntilEmpty(connections: RunningConnections): Promise<boolean> {
    if (connections.size === 0) return Promise.resolve(true);

    return new Promise((resolve) => {
      const done = (empty: boolean): void => {
        clearTimeout(timer);
        this.finishListeners.delete(listener);
        resolve(empty);
      };
      const listener = (): void => {
        if (connections.size === 0) done(true);
      };
      const timer = setTimeout(() => done(false), this.options.shutdownTimeout);

      this.finishListeners.add(listener);
    });
  }

  private connectionsOf(connection: TrackedConnection): RunningConnections {
    return connection.kind === "websocket" ? this.webSockets : this.requests;
  }
}
