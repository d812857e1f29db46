import { ASGIProtocolError } from "../exceptions";

/** Returns the `type` of a message from the app; throws ASGIProtocolError when it has none. */
export function messageType(message: unknown): string {
  if (typeof message !== "object" || message === null) {
    throw new ASGIProtocolError(`ASGI messages must be objects, got ${typeof message}`);
  }

  const type = (message as { type?: unknown }).type;
  if (typeof type !== "string") {
    throw new ASGIProtocolError("ASGI message has no string 'type' field");
  }

  return type;
}
