/**
 * A raw TCP client for HTTP/1.1 tests that need exact bytes: headers with non-UTF-8 bytes,
 * malformed requests, pipelining, or reading a response's head before its body.
 */
import net from "node:net";

/** One parsed HTTP response; header names are lower-case, values latin-1 strings. */
export interface RawResponse {
  status: number;
  reason: string;
  headers: Array<[string, string]>;
  body: Buffer;
}

/** Returns every value of header `name` in `response`, in order. */
export function headerValues(response: RawResponse, name: string): string[] {
  return response.headers.filter(([key]) => key === name).map(([, value]) => value);
}

/** Returns the single value of header `name`, or undefined. */
export function headerValue(response: RawResponse, name: string): string | undefined {
  return headerValues(response, name)[0];
}

const DEFAULT_TIMEOUT_MS = 5000;

export class RawConnection {
  /** Bytes received and not yet consumed by `readResponse`. */
  private buffer = Buffer.alloc(0);
  private ended = false;
  private listeners: Array<() => void> = [];

  private constructor(readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.notify();
    });
    socket.on("close", () => {
      this.ended = true;
      this.notify();
    });
    socket.on("error", () => {
      this.ended = true;
      this.notify();
    });
  }

  static open(port: number, host = "127.0.0.1"): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, host, () => resolve(new RawConnection(socket)));
      socket.once("error", reject);
    });
  }

  /** True once the server closed the connection. */
  get closed(): boolean {
    return this.ended;
  }

  /** Writes `data`, a string taken as latin-1 so every character is one byte. */
  write(data: string | Buffer): void {
    this.socket.write(typeof data === "string" ? Buffer.from(data, "latin1") : data);
  }

  /** Reads one response; pass `bodyless` for a HEAD response, whose head announces a body. */
  async readResponse(
    options: { bodyless?: boolean; timeoutMs?: number } = {},
  ): Promise<RawResponse> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const headEnd = await this.waitFor(() => this.buffer.indexOf("\r\n\r\n"), timeoutMs);
    const head = this.buffer.subarray(0, headEnd).toString("latin1");
    this.consume(headEnd + 4);

    const response = parseHead(head);
    response.body = await this.readBody(response, options.bodyless ?? false, timeoutMs);
    return response;
  }

  /** Resolves once the server closed the connection; rejects after `timeoutMs`. */
  async waitClose(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    await this.waitFor(() => (this.ended ? 0 : -1), timeoutMs);
  }

  /** Returns every byte received so far and not consumed. */
  pending(): Buffer {
    return this.buffer;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private async readBody(
    response: RawResponse,
    bodyless: boolean,
    timeoutMs: number,
  ): Promise<Buffer> {
    const noBody =
      bodyless || response.status < 200 || response.status === 204 || response.status === 304;
    if (noBody) return Buffer.alloc(0);

    const length = headerValue(response, "content-length");
    if (length !== undefined) return this.readExactly(Number(length), timeoutMs);

    if (headerValue(response, "transfer-encoding")?.toLowerCase() === "chunked") {
      return this.readChunked(timeoutMs);
    }

    await this.waitClose(timeoutMs);
    return this.consume(this.buffer.length);
  }

  private async readExactly(length: number, timeoutMs: number): Promise<Buffer> {
    await this.waitFor(() => (this.buffer.length >= length ? 0 : -1), timeoutMs);
    return this.consume(length);
  }

  private async readChunked(timeoutMs: number): Promise<Buffer> {
    const chunks: Buffer[] = [];

    for (;;) {
      const lineEnd = await this.waitFor(() => this.buffer.indexOf("\r\n"), timeoutMs);
      const size = parseInt(this.consume(lineEnd + 2).toString("latin1"), 16);
      const chunk = await this.readExactly(size + 2, timeoutMs);

      if (size === 0) return Buffer.concat(chunks);
      chunks.push(chunk.subarray(0, size));
    }
  }

  private consume(length: number): Buffer {
    const consumed = this.buffer.subarray(0, length);
    this.buffer = this.buffer.subarray(length);
    return Buffer.from(consumed);
  }

  /** Waits until `probe` returns a non-negative number, and returns it. */
  private waitFor(probe: () => number, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = probe();
        if (found >= 0) {
          finish();
          resolve(found);
          return true;
        }

        if (this.ended) {
          finish();
          reject(new Error(`connection closed; received ${JSON.stringify(this.text())}`));
          return true;
        }

        return false;
      };
      const finish = (): void => {
        clearTimeout(timer);
        this.listeners = this.listeners.filter((listener) => listener !== onData);
      };
      const onData = (): void => {
        check();
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out; received ${JSON.stringify(this.text())}`));
      }, timeoutMs);

      if (!check()) this.listeners.push(onData);
    });
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private text(): string {
    return this.buffer.toString("latin1");
  }
}

function parseHead(head: string): RawResponse {
  const [statusLine, ...lines] = head.split("\r\n");
  const match = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(statusLine);
  if (match === null) throw new Error(`invalid status line ${JSON.stringify(statusLine)}`);

  const headers = lines.map((line): [string, string] => {
    const colon = line.indexOf(":");
    return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
  });

  return { status: Number(match[1]), reason: match[2], headers, body: Buffer.alloc(0) };
}

/** Sends one request on a new connection and reads one response, then closes it. */
export async function rawRequest(
  port: number,
  request: string | Buffer,
  options: { bodyless?: boolean; timeoutMs?: number } = {},
): Promise<RawResponse> {
  const connection = await RawConnection.open(port);

  try {
    connection.write(request);
    return await connection.readResponse(options);
  } finally {
    connection.destroy();
  }
}
