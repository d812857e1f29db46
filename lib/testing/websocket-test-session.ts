import { RequestHeaders } from "../datastructures/headers";
import { ASGIProtocolError, ClientDisconnectedError, WebSocketDisconnect } from "../exceptions";
import type {
  ASGIApp,
  Headers,
  WebSocketReceiveMessage,
  WebSocketScope,
  WebSocketSendMessage,
} from "../types/asgi";
import { Deferred, MessageQueue, withTimeout } from "./queue";
import { TestResponse } from "./response";

/** The app sent an HTTP response to the WebSocket handshake instead of accepting it. */
export class WebSocketDenialResponse extends Error {
  readonly response: TestResponse;

  constructor(response: TestResponse) {
    super(`the app denied the WebSocket handshake with HTTP ${response.status}`);
    this.name = "WebSocketDenialResponse";
    this.response = response;
  }
}

/** An event from the app side of a test WebSocket: a message, its return, or its error. */
type AppEvent =
  | { kind: "message"; message: WebSocketSendMessage }
  | { kind: "exit" }
  | { kind: "error"; error: unknown };

export interface WebSocketTestSessionOptions {
  /** The ws: or wss: URL of the connection, for a denial response. */
  url: URL;
  /** Milliseconds to wait for the handshake and for each received message. */
  timeoutMs: number;
  /** Rethrow an exception the app raised, instead of only ending the connection. */
  raiseServerExceptions: boolean;
  /** Receives the Set-Cookie headers of the 101 or denial response. */
  onHandshakeHeaders(headers: Headers): void;
}

/**
 * The test side of a WebSocket connection to an app running in-process: send frames, receive
 * what the app sends, close. Created by `TestClient.websocketConnect`, which resolves once the
 * app accepted.
 */
export class WebSocketTestSession {
  readonly scope: WebSocketScope;
  /** The subprotocol the app chose, or null. */
  acceptedSubprotocol: string | null = null;
  /** Extra headers the app sent with `websocket.accept`, as they reach the 101 response. */
  headers: RequestHeaders = new RequestHeaders([]);
  private readonly fromClient = new MessageQueue<WebSocketReceiveMessage>();
  private readonly fromApp = new MessageQueue<AppEvent>();
  private readonly options: WebSocketTestSessionOptions;
  private readonly appDone = new Deferred<void>();
  private appError: unknown = undefined;
  private clientClosed = false;
  private appClosed = false;
  private accepted = false;
  private denialStatus: number | null = null;
  private denialHeaders: Headers = [];
  private denialBody: Buffer[] = [];

  constructor(scope: WebSocketScope, options: WebSocketTestSessionOptions) {
    this.scope = scope;
    this.options = options;
  }

  /** Runs `app` and waits until it accepts, closes, denies or fails the handshake. */
  async connect(app: ASGIApp): Promise<this> {
    void this.runApp(app);
    this.fromClient.push({ type: "websocket.connect" });

    const event = await this.fromApp.shift(this.options.timeoutMs, "the WebSocket handshake");
    if (event.kind === "error") throw event.error;
    if (event.kind === "exit") {
      throw new ASGIProtocolError("the app returned without accepting the WebSocket connection");
    }

    return this.completeHandshake(event.message);
  }

  /** Sends a text frame to the app. */
  sendText(text: string): void {
    this.sendToApp({ type: "websocket.receive", text });
  }

  /** Sends a binary frame to the app. */
  sendBytes(bytes: Uint8Array): void {
    this.sendToApp({ type: "websocket.receive", bytes });
  }

  /** Sends `value` as JSON, in a text frame by default. */
  sendJson(value: unknown, mode: "text" | "binary" = "text"): void {
    const json = JSON.stringify(value);

    if (mode === "text") {
      this.sendText(json);
    } else {
      this.sendBytes(Buffer.from(json, "utf8"));
    }
  }

  /**
   * Returns the next `websocket.send` message of the app.
   *
   * @throws WebSocketDisconnect when the app closed the connection or returned.
   * @throws Error when nothing arrives within the timeout.
   */
  async receive(timeoutMs = this.options.timeoutMs): Promise<WebSocketSendMessage> {
    const event = await this.fromApp.shift(timeoutMs, "a WebSocket message from the app");

    if (event.kind === "error") throw event.error;
    if (event.kind === "exit") throw new WebSocketDisconnect(1006, "the app returned");

    const message = event.message;
    if (message.type === "websocket.close") {
      throw new WebSocketDisconnect(message.code ?? 1000, message.reason ?? "");
    }

    return message;
  }

  /** Returns the text of the next frame; a binary frame is decoded as UTF-8. */
  async receiveText(timeoutMs?: number): Promise<string> {
    const message = await this.receive(timeoutMs);
    if (message.type !== "websocket.send") throw unexpected(message);

    return message.text ?? Buffer.from(message.bytes ?? []).toString("utf8");
  }

  /** Returns the bytes of the next frame; a text frame is encoded as UTF-8. */
  async receiveBytes(timeoutMs?: number): Promise<Buffer> {
    const message = await this.receive(timeoutMs);
    if (message.type !== "websocket.send") throw unexpected(message);

    return message.bytes != null
      ? Buffer.from(message.bytes)
      : Buffer.from(message.text ?? "", "utf8");
  }

  /** Parses the next frame, text or binary, as JSON. */
  async receiveJson<T = unknown>(timeoutMs?: number): Promise<T> {
    return JSON.parse(await this.receiveText(timeoutMs)) as T;
  }

  /**
   * Sends `websocket.disconnect` to the app and waits for it to return. Rethrows an exception
   * the app raised, unless `raiseServerExceptions` is off.
   */
  async close(code = 1000, reason?: string): Promise<void> {
    if (!this.clientClosed) {
      this.clientClosed = true;
      this.fromClient.push({ type: "websocket.disconnect", code, reason: reason ?? null });
    }

    await withTimeout(this.appDone.promise, this.options.timeoutMs, "the app to return");
    if (this.appError !== undefined && this.options.raiseServerExceptions) throw this.appError;
  }

  /** True once either side closed the connection. */
  get closed(): boolean {
    return this.clientClosed || this.appClosed;
  }

  private sendToApp(message: WebSocketReceiveMessage): void {
    if (this.closed) {
      throw new ClientDisconnectedError("the WebSocket is closed, so nothing more can be sent");
    }

    this.fromClient.push(message);
  }

  private completeHandshake(message: WebSocketSendMessage): this {
    if (message.type === "websocket.accept") {
      this.acceptedSubprotocol = message.subprotocol ?? null;
      this.headers = new RequestHeaders(message.headers ?? []);
      this.options.onHandshakeHeaders(message.headers ?? []);
      return this;
    }

    if (message.type === "websocket.close") {
      // ASGI: a close before accept is an HTTP 403 for the client.
      throw new WebSocketDisconnect(message.code ?? 1000, message.reason ?? "");
    }

    throw unexpected(message);
  }

  private async runApp(app: ASGIApp): Promise<void> {
    try {
      await app(
        this.scope,
        () => this.receiveFromClient(),
        (message) => this.sendFromApp(message as WebSocketSendMessage),
      );
      this.fromApp.push({ kind: "exit" });
    } catch (error) {
      this.appError = error;
      this.fromApp.push({ kind: "error", error });
    } finally {
      this.appClosed = true;
      this.appDone.resolve();
    }
  }

  private receiveFromClient(): Promise<WebSocketReceiveMessage> {
    // After the disconnect, every further receive repeats it instead of waiting forever.
    if (this.clientClosed && this.fromClient.size === 0) {
      return Promise.resolve({ type: "websocket.disconnect", code: 1000 });
    }

    return this.fromClient.shift();
  }

  private async sendFromApp(message: WebSocketSendMessage): Promise<void> {
    if (this.clientClosed || this.appClosed) {
      throw new ClientDisconnectedError("the test client closed the WebSocket");
    }

    if (!this.accepted) {
      this.handleHandshakeMessage(message);
      return;
    }

    if (message.type === "websocket.close") this.appClosed = true;
    this.fromApp.push({ kind: "message", message });
  }

  private handleHandshakeMessage(message: WebSocketSendMessage): void {
    switch (message.type) {
      case "websocket.accept":
        this.accepted = true;
        this.fromApp.push({ kind: "message", message });
        return;
      case "websocket.close":
        this.appClosed = true;
        this.fromApp.push({ kind: "message", message });
        return;
      case "websocket.http.response.start":
        this.denialStatus = message.status;
        this.denialHeaders = message.headers ?? [];
        return;
      case "websocket.http.response.body":
        this.collectDenialBody(message.body, message.more_body ?? false);
        return;
      default:
        throw new ASGIProtocolError(
          `the app sent ${message.type} before accepting the WebSocket connection`,
        );
    }
  }

  private collectDenialBody(body: Uint8Array | undefined, moreBody: boolean): void {
    if (this.denialStatus === null) {
      throw new ASGIProtocolError(
        "the app sent websocket.http.response.body before websocket.http.response.start",
      );
    }

    if (body !== undefined) this.denialBody.push(Buffer.from(body));
    if (moreBody) return;

    this.appClosed = true;
    this.options.onHandshakeHeaders(this.denialHeaders);
    const response = new TestResponse(
      this.denialStatus,
      this.denialHeaders,
      Buffer.concat(this.denialBody),
      this.options.url,
    );
    this.fromApp.push({ kind: "error", error: new WebSocketDenialResponse(response) });
  }
}

function unexpected(message: WebSocketSendMessage): ASGIProtocolError {
  return new ASGIProtocolError(`expected a WebSocket frame from the app, got ${message.type}`);
}
