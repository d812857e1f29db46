/**
 * Every error this library throws. Each class has a stable `code`, so callers can branch on it
 * without matching message text.
 */

/** Base class of every error this library throws. */
export class ASGIException extends Error {
  readonly code: string = "ERR_ASGI";

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * A configuration value is invalid. Raised at construction, never per request. The message
 * names the option, the rejected value (never a secret) and how to fix it.
 */
export class ImproperlyConfiguredException extends ASGIException {
  override readonly code = "ERR_IMPROPERLY_CONFIGURED";
}

/**
 * The client has gone: `send()` rejects with this once the connection was aborted or closed.
 * Servers and middleware treat it as the normal end of a connection, not as a failure.
 */
export class ClientDisconnectedError extends ASGIException {
  override readonly code = "ERR_CLIENT_DISCONNECTED";

  constructor(message = "the client disconnected before the response was sent") {
    super(message);
  }
}

/**
 * The app broke the ASGI message sequence: a body before `http.response.start`, a second start,
 * a message after the final body, an unknown message type or an invalid field.
 */
export class ASGIProtocolError extends ASGIException {
  override readonly code = "ERR_ASGI_PROTOCOL";
}

/** An HTTP error response raised by a handler; `App` renders it with its status. */
export class HTTPException extends ASGIException {
  override readonly code: string = "ERR_HTTP";
  readonly statusCode: number;
  readonly headers: Record<string, string>;

  constructor(
    statusCode = 500,
    detail?: string,
    options: { headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(detail ?? `HTTP ${statusCode}`, { cause: options.cause });
    this.statusCode = statusCode;
    this.headers = options.headers ?? {};
  }
}

export class ClientException extends HTTPException {
  constructor(detail = "Bad Request", options?: { headers?: Record<string, string> }) {
    super(400, detail, options);
  }
}

export class NotAuthorizedException extends HTTPException {
  constructor(detail = "Unauthorized", options?: { headers?: Record<string, string> }) {
    super(401, detail, options);
  }
}

export class PermissionDeniedException extends HTTPException {
  constructor(detail = "Forbidden", options?: { headers?: Record<string, string> }) {
    super(403, detail, options);
  }
}

export class NotFoundException extends HTTPException {
  constructor(detail = "Not Found", options?: { headers?: Record<string, string> }) {
    super(404, detail, options);
  }
}

export class MethodNotAllowedException extends HTTPException {
  constructor(detail = "Method Not Allowed", options?: { headers?: Record<string, string> }) {
    super(405, detail, options);
  }
}

export class InternalServerException extends HTTPException {
  constructor(detail = "Internal Server Error", options?: { headers?: Record<string, string> }) {
    super(500, detail, options);
  }
}

/** The WebSocket peer closed the connection; carries its close code and reason. */
export class WebSocketDisconnect extends ASGIException {
  override readonly code = "ERR_WEBSOCKET_DISCONNECT";
  readonly closeCode: number;
  readonly reason: string;

  constructor(closeCode: number, reason = "") {
    super(`the WebSocket closed with code ${closeCode}${reason ? `: ${reason}` : ""}`);
    this.closeCode = closeCode;
    this.reason = reason;
  }
}

/** A session store operation failed, such as Redis being unreachable or a full disk. */
export class StoreError extends ASGIException {
  override readonly code = "ERR_STORE";
  readonly store: string;
  readonly operation: string;

  constructor(store: string, operation: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(`${store}.${operation} failed: ${detail}`, { cause });
    this.store = store;
    this.operation = operation;
  }
}

/** A session is too large to send back as cookies within the configured chunk limit. */
export class SessionTooLargeError extends ASGIException {
  override readonly code = "ERR_SESSION_TOO_LARGE";
  /** Characters of the encrypted, base64-encoded session, when known. */
  readonly size?: number;
  /** Characters of session data that fit in `maxChunks` cookies, when known. */
  readonly limit?: number;
  /** Cookies the session would need, when known. */
  readonly chunks?: number;
  /** The configured limit of cookies per session, when known. */
  readonly maxChunks?: number;

  constructor(
    message: string,
    details: { size?: number; limit?: number; chunks?: number; maxChunks?: number } = {},
  ) {
    super(message);
    this.size = details.size;
    this.limit = details.limit;
    this.chunks = details.chunks;
    this.maxChunks = details.maxChunks;
  }
}

/**
 * The app failed the ASGI lifespan protocol: it sent `lifespan.startup.failed` or
 * `lifespan.shutdown.failed`, or, with `lifespan: "on"`, raised or returned before completing
 * startup. `serve()` and `TestClient.start()` reject with it.
 */
export class LifespanError extends ASGIException {
  override readonly code = "ERR_LIFESPAN";
}
