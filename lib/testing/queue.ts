/** Milliseconds a test client waits for an app message before giving up. */
export const DEFAULT_TIMEOUT_MS = 5000;

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout | null;
}

/**
 * A first-in, first-out queue whose `shift` waits for the next item. It connects the test side
 * of a connection to the app side, in both directions.
 */
export class MessageQueue<T> {
  private readonly items: T[] = [];
  private readonly waiters: Waiter<T>[] = [];

  push(item: T): void {
    const waiter = this.waiters.shift();

    if (waiter === undefined) {
      this.items.push(item);
      return;
    }

    if (waiter.timer !== null) clearTimeout(waiter.timer);
    waiter.resolve(item);
  }

  /**
   * Returns the next item, waiting for one to be pushed.
   *
   * @param timeoutMs rejects after this many milliseconds; null waits without limit.
   * @param describe names what is awaited, for the timeout message.
   */
  shift(timeoutMs: number | null = null, describe = "a message"): Promise<T> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift()!);

    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = { resolve, reject, timer: null };

      if (timeoutMs !== null) {
        waiter.timer = setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${describe}`));
        }, timeoutMs);
      }

      this.waiters.push(waiter);
    });
  }

  /** Returns the next item if one is queued, without waiting. */
  shiftNow(): T | undefined {
    return this.items.shift();
  }

  get size(): number {
    return this.items.length;
  }
}

/** A promise with its `resolve` exposed, settled once. */
export class Deferred<T = void> {
  readonly promise: Promise<T>;
  settled = false;
  private resolveFn!: (value: T) => void;

  constructor() {
    this.promise = new Promise<T>((resolve) => {
      this.resolveFn = resolve;
    });
  }

  resolve(value: T): void {
    if (this.settled) return;

    this.settled = true;
    this.resolveFn(value);
  }
}

/** Rejects when `promise` has not settled after `timeoutMs` milliseconds. */
export async function withTimeout<T>(
  promise: Promise<T>,
  timeoutMs: number,
  describe: string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${describe}`)),
      timeoutMs,
    );
  });

  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
