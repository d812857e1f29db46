/**
 * Raw uWebSockets.js with no ASGI layer: the ceiling every other scenario is compared with.
 * `BENCH_VARIANT=hello` answers every GET with a short text body; `ws` also accepts idle
 * WebSockets without any session, for the per-socket memory baseline.
 */
import uWS from "uWebSockets.js";

import { runServerChild, type BenchServer } from "./child";

const HELLO = "Hello, world!";

function startRawServer(): Promise<BenchServer> {
  const app = uWS.App();

  app.get("/*", (res) => {
    res.writeHeader("content-type", "text/plain; charset=utf-8").end(HELLO);
  });

  app.ws("/*", { idleTimeout: 0, maxPayloadLength: 16 * 1024 });

  return new Promise((resolve, reject) => {
    app.listen("127.0.0.1", 0, (listenSocket) => {
      if (!listenSocket) {
        reject(new Error("uWebSockets.js failed to listen on 127.0.0.1"));
        return;
      }

      resolve({
        port: uWS.us_socket_local_port(listenSocket),
        close: async () => {
          uWS.us_listen_socket_close(listenSocket);
        },
      });
    });
  });
}

runServerChild(startRawServer);
