import { ASGIProtocolError, ClientException, WebSocketDisconnect } from "../exceptions";
import type {
  Headers,
  Receive,
  Send,
  WebSocketReceiveMessage,
  WebSocketScope,
  WebSocketSendMessage,
} from "../types/asgi";
import { ASGIConnection } from "./base";

/** The state of one side of a WebSocket connection, as Starlette tracks it. */
export type WebSocketState = "CONNECTING" | "CONNECTED" | "DISCONNECTED";

export interface WebSocketAcceptOptions {
  /** The subprotocol to confirm; it should be one of `websocket.subprotocols`. */
  subprotocol?: string | null;
  /** Extra headers for the 101 response, as a header list or an object. */
  headers?: Headers | Record<string, string>;
}

/** A data frame: text frames as strings, binary frames as bytes. */
export type WebSocketData = string | Uint8Array;

/** Close code 1000 (RFC 6455 section 7.4.1): the purpose of the connection is fulfilled. */
const NORMAL_CLOSURE = 1000;

/**
 * Litestar's `WebSocket`: accepts, receives from and sends to one WebSocket connection.
 * Receiving or sending before `accept()` accepts first, as Litestar does. Once the client has
 * disconnected, receiving throws `WebSocketDisconnect`; iteration ends instead.
 */
export class WebSocket extends ASGIConnection<WebSocketScope> {
  private clientStateValue: WebSocketState = "CONNECTING";
  private applicationStateValue: WebSocketState = "CONNECTING";
  private closeCode = 1006;
  private closeReason = "";

  constructor(scope: WebSocketScope, receive?: Receive, send?: Send) {
    super(scope, receive, send);
  }

  /** The client side: CONNECTED once `websocket.connect` arrived, DISCONNECTED after it left. */
  get clientState(): WebSocketState {
    return this.clientStateValue;
  }

  /** The app side: CONNECTED once accepted, DISCONNECTED after `close()` or a disconnect. */
  get applicationState(): WebSocketState {
    return this.applicationStateValue;
  }

  /** Subprotocols the client offered, in its order of preference. */
  get subprotocols(): string[] {
    return this.scope.subprotocols;
  }

  /**
   * Waits for the client's `websocket.connect`, then accepts the connection.
   *
   * @throws ASGIProtocolError when the connection was already accepted or closed.
   * @throws WebSocketDisconnect when the client left before the handshake completed.
   */
  async accept(options: WebSocketAcceptOptions = {}): Promise<void> {
    if (this.applicationStateValue !== "CONNECTING") {
      throw new ASGIProtocolError(
        "accept() called on a WebSocket that is already " +
          this.applicationStateValue.toLowerCase(),
      );
    }

    if (this.clientStateValue === "CONNECTING") {
      const event = await this.receiveEvent();
      if (event.type !== "websocket.connect") {
        throw new ASGIProtocolError(`expected websocket.connect first, got ${event.type}`);
      }
    }

    await this.send({
      type: "websocket.accept",
      subprotocol: options.subprotocol ?? null,
      headers: toHeaderList(options.headers),
    });
    this.applicationStateValue = "CONNECTED";
  }

  /**
   * Receives the next data frame: a string for a text frame, bytes for a binary frame.
   *
   * @throws WebSocketDisconnect with the client's close code when it disconnects.
   */
  async receiveMessage(): Promise<WebSocketData> {
    await this.acceptIfConnecting();
    const event = await this.receiveEvent();

    if (event.type !== "websocket.receive") {
      throw new ASGIProtocolError(`unexpected ${event.type} message after the handshake`);
    }

    if (event.text != null) return event.text;
    return event.bytes ?? new Uint8Array(0);
  }

  /** Receives the next frame as text; a binary frame is decoded as UTF-8. */
  async receiveText(): Promise<string> {
    const data = await this.receiveMessage();
    return typeof data === "string" ? data : Buffer.from(data).toString("utf8");
  }

  /** Receives the next frame as bytes; a text frame is encoded as UTF-8. */
  async receiveBytes(): Promise<Uint8Array> {
    const data = await this.receiveMessage();
    return typeof data === "string" ? Buffer.from(data, "utf8") : data;
  }

  /**
   * Receives the next frame and parses it as JSON.
   *
   * @throws ClientException (400) when the frame is not valid JSON.
   */
  async receiveJson<T = unknown>(): Promise<T> {
    const text = await this.receiveText();

    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ClientException("the WebSocket message is not valid JSON");
    }
  }

  /** Sends a text frame. */
  async sendText(data: string): Promise<void> {
    await this.sendFrame({ type: "websocket.send", text: data });
  }

  /** Sends a binary frame. */
  async sendBytes(data: Uint8Array): Promise<void> {
    await this.sendFrame({ type: "websocket.send", bytes: data });
  }

  /** Sends `value` as JSON in a text frame, or in a binary frame when `mode` is "binary". */
  async sendJson(value: unknown, mode: "text" | "binary" = "text"): Promise<void> {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError(`cannot send ${typeof value} as JSON`);

    if (mode === "binary") return this.sendBytes(Buffer.from(text, "utf8"));
    return this.sendText(text);
  }

  /**
   * Closes the connection. Before `accept()` the server rejects the handshake with HTTP 403.
   * Does nothing when the connection is already closed or the client has left.
   */
  async close(code = NORMAL_CLOSURE, reason?: string): Promise<void> {
    if (this.applicationStateValue === "DISCONNECTED") return;
    if (this.clientStateValue === "DISCONNECTED") {
      this.applicationStateValue = "DISCONNECTED";
      return;
    }

    this.applicationStateValue = "DISCONNECTED";
    await this.send({ type: "websocket.close", code, reason: reason ?? "" });
  }

  /** Yields every frame as it arrives, and ends when the client disconnects. */
  async *iterMessages(): AsyncGenerator<WebSocketData, void, undefined> {
    for (;;) {
      try {
        yield await this.receiveMessage();
      } catch (error) {
        if (error instanceof WebSocketDisconnect) return;
        throw error;
      }
    }
  }

  /** Yields every frame as text, and ends when the client disconnects. */
  async *iterText(): AsyncGenerator<string, void, undefined> {
    for await (const data of this.iterMessages()) {
      yield typeof data === "string" ? data : Buffer.from(data).toString("utf8");
    }
  }

  /** Yields every frame as bytes, and ends when the client disconnects. */
  async *iterBytes(): AsyncGenerator<Uint8Array, void, undefined> {
    for await (const data of this.iterMessages()) {
      yield typeof data === "string" ? Buffer.from(data, "utf8") : data;
    }
  }

  /** Yields every frame parsed as JSON, and ends when the client disconnects. */
  async *iterJson<T = unknown>(): AsyncGenerator<T, void, undefined> {
    for await (const text of this.iterText()) {
      try {
        yield JSON.parse(text) as T;
      } catch {
        throw new ClientException("the WebSocket message is not valid JSON");
      }
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<WebSocketData, void, undefined> {
    return this.iterMessages();
  }

  private async acceptIfConnecting(): Promise<void> {
    if (this.applicationStateValue === "CONNECTING") await this.accept();
  }

  /** Calls `receive`, tracks the client state and turns a disconnect into an error. */
  private async receiveEvent(): Promise<WebSocketReceiveMessage> {
    if (this.clientStateValue === "DISCONNECTED") {
      throw new WebSocketDisconnect(this.closeCode, this.closeReason);
    }

    const event = (await this.receive()) as WebSocketReceiveMessage;

    if (event.type === "websocket.connect") {
      this.clientStateValue = "CONNECTED";
      return event;
    }

    if (event.type === "websocket.disconnect") {
      this.clientStateValue = "DISCONNECTED";
      this.applicationStateValue = "DISCONNECTED";
      this.closeCode = event.code;
      this.closeReason = event.reason ?? "";
      throw new WebSocketDisconnect(this.closeCode, this.closeReason);
    }

    return event;
  }

  private async sendFrame(message: WebSocketSendMessage): Promise<void> {
    await this.acceptIfConnecting();

    if (this.clientStateValue === "DISCONNECTED") {
      throw new WebSocketDisconnect(this.closeCode, this.closeReason);
    }

    if (this.applicationStateValue === "DISCONNECTED") {
      throw new ASGIProtocolError("cannot send on a WebSocket after close()");
    }

    await this.send(message);
  }
}

function toHeaderList(headers: Headers | Record<string, string> | undefined): Headers {
  if (headers === undefined) return [];
  if (Array.isArray(headers)) return headers.map(([name, value]) => [name.toLowerCase(), value]);

  return Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]);
}
