/**
 * The one import of uWebSockets.js, and the check that its native binary loaded.
 *
 * The package (`@trufflesuite/uws-js-unofficial` 20.30) loads a prebuilt binary for the
 * running platform and Node ABI. When that fails it prints a console warning and falls back to
 * a pure-JS implementation built on `node:http`, which is far slower and lacks `SSLApp`,
 * `tryEnd`, `endWithoutBody`, `upgrade` and `app.close()`. Its default export holds only `App`,
 * `us_listen_socket_close` and `_cfg`, so the native-only exports below tell the two apart.
 */
import uWS from "uWebSockets.js";
import type { us_listen_socket } from "uWebSockets.js";

export { uWS };

const NATIVE_ONLY_EXPORTS = ["SSLApp", "getParts", "us_socket_local_port"] as const;

const native = NATIVE_ONLY_EXPORTS.every(
  (name) => typeof (uWS as unknown as Record<string, unknown>)[name] === "function",
);

/** Returns true when uWebSockets.js runs its native binary, false on the pure-JS fallback. */
export function isNativeUws(): boolean {
  return native;
}

/** Returns the port a listen socket is bound to, or null when it cannot be read. */
export function listenSocketPort(listenSocket: us_listen_socket): number | null {
  if (native) {
    const port = uWS.us_socket_local_port(listenSocket);
    return port > 0 ? port : null;
  }

  // The fallback's listen socket is a `net.Server`.
  const address = (listenSocket as { address?: () => { port?: number } | null }).address?.();
  return address?.port ?? null;
}
