import type { Express } from "express";
import type { AddressInfo } from "node:net";

import type { BenchServer } from "./child";

/** Listens on 127.0.0.1 with an OS-chosen port. */
export function listenExpress(app: Express): Promise<BenchServer> {
  return new Promise((resolve, reject) => {
    const server = app.listen(0, "127.0.0.1", (error?: Error) => {
      if (error) {
        reject(error);
        return;
      }

      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
