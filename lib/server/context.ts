/**
 * The interface between a connection and its server. `ServerHost` implements it, and the
 * connection classes depend only on this interface.
 */
import type { Logger } from "../logger";
import type { Address, ASGIApp } from "../types/asgi";
import type { ResolvedServeOptions } from "./options";

/** A connection the server tracks until its app returns, so `close()` can wait for it. */
export interface TrackedConnection {
  readonly id: number;
  readonly kind: "http" | "websocket";
  /** Links of the `RunningConnections` list this connection is in. */
  previousRunning: TrackedConnection | null;
  nextRunning: TrackedConnection | null;
  /** Asks for `Connection: close` on the response, so a shutdown does not wait for the client. */
  closeAfterResponse(): void;
  /** Ends the connection now, for a shutdown whose grace period ran out. */
  forceClose(): void;
}

/**
 * The connections whose app is still running, as a list linked through the connections
 * themselves: adding and removing one per request allocates nothing, where a `Set` reallocates
 * its table as it grows and shrinks.
 */
export class RunningConnections {
  size = 0;
  private head: TrackedConnection | null = null;

  add(connection: TrackedConnection): void {
    connection.previousRunning = null;
    connection.nextRunning = this.head;
    if (this.head !== null) this.head.previousRunning = connection;

    this.head = connection;
    this.size += 1;
  }

  delete(connection: TrackedConnection): void {
    const { previousRunning, nextRunning } = connection;

    if (previousRunning !== null) previousRunning.nextRunning = nextRunning;
    else if (this.head === connection) this.head = nextRunning;
    else return;

    if (nextRunning !== null) nextRunning.previousRunning = previousRunning;
    connection.previousRunning = null;
    connection.nextRunning = null;
    this.size -= 1;
  }

  /** Returns the connections as an array, safe to use while they remove themselves. */
  toArray(): TrackedConnection[] {
    const connections: TrackedConnection[] = [];

    for (let node = this.head; node !== null; node = node.nextRunning) connections.push(node);

    return connections;
  }
}

export interface ConnectionHost {
  readonly app: ASGIApp;
  readonly options: ResolvedServeOptions;
  readonly logger: Logger;
  /** `[host, port]` of the listen socket, for `scope.server`. */
  readonly serverAddress: Address;
  readonly secure: boolean;
  /** True once `close()` began: new requests get 503 and responses close their connection. */
  readonly closing: boolean;
  nextConnectionId(): number;
  /** Returns a shallow copy of the lifespan state for a new scope. */
  copyState(): Record<string, unknown>;
  connectionStarted(connection: TrackedConnection): void;
  connectionFinished(connection: TrackedConnection): void;
}

/** The `asgi` key of every connection scope; shared, so it is frozen. */
export const ASGI_VERSIONS = Object.freeze({ version: "3.0", spec_version: "2.5" } as const);
