/**
 * The `receive()` side of one connection. A call gets a ready message at once; otherwise calls
 * wait in the order they were made, and `wake()` hands each the next message, so two tasks can
 * read at once (one reading the body, another watching for the disconnect).
 */
export class ReceiveQueue<M> {
  private readonly nextMessage: () => M | null;
  /** The first waiting call; later concurrent calls queue in `later`. */
  private first: ((message: M) => void) | null = null;
  /** Created on the first concurrent call, so a single reader allocates no array. */
  private later: Array<(message: M) => void> | null = null;

  /** `nextMessage` returns the message a call would get now, or null when none is ready. */
  constructor(nextMessage: () => M | null) {
    this.nextMessage = nextMessage;
  }

  receive(): Promise<M> {
    // A waiting call is first in line for the next message.
    if (this.first !== null) return this.wait();

    const ready = this.nextMessage();
    return ready === null ? this.wait() : Promise.resolve(ready);
  }

  /** Hands ready messages to waiting calls in the order they were made. */
  wake(): void {
    while (this.first !== null) {
      const message = this.nextMessage();
      if (message === null) return;

      const waiter = this.first;
      this.first = this.later?.shift() ?? null;
      waiter(message);
    }
  }

  private wait(): Promise<M> {
    return new Promise((resolve) => {
      if (this.first === null) {
        this.first = resolve;
        return;
      }

      (this.later ??= []).push(resolve);
    });
  }
}
