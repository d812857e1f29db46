/**
 * The ASGI server: one uWS app whose catch-all HTTP and WebSocket routes turn each request or
 * upgrade into an ASGI connection, plus the lifespan protocol around listening.
 */
import type {
  HttpRequest,
  HttpResponse,
  TemplatedApp,
  us_listen_socket,
  us_socket_context_t,
} from "uWebSockets.js";

import { ImproperlyConfiguredException } from "../exceptions";
import type { Logger } from "../logger";
import type { Address, ASGIApp } from "../types/asgi";
import type { RunningConnections } from "./context";
import { ServerHost } from "./host";
import { handleHTTPRequest } from "./http";
import { Lifespan } from "./lifespan";
import { resolveServeOptions, type ResolvedServeOptions, type ServeOptions } from "./options";
import { isNativeUws, listenSocketPort, uWS } from "./uws";
import { handleUpgrade, webSocketBehavior, type SocketData } from "./websocket";

/** An ASGI app function, or an object that carries one as `asgi`, such as `App`. */
export type ASGIAppLike = ASGIApp | { readonly asgi: ASGIApp };

/** Starts a server for `app` and resolves once it listens and lifespan startup completed. */
export function serve(app: ASGIAppLike, options?: ServeOptions): Promise<Server> {
  try {
    return new Server(app, options).listen();
  } catch (error) {
    return Promise.reject(error);
  }
}

export class Server {
  /** False when uWebSockets.js runs on its slow pure-JS fallback. */
  readonly native: boolean;

  private readonly options: ResolvedServeOptions;
  private readonly logger: Logger;
  private readonly lifespan: Lifespan;
  private readonly core: ServerHost;
  private uwsApp: TemplatedApp | null = null;
  private listenSocket: us_listen_socket | null = null;
  private boundPort = 0;
  private listening: Promise<this> | null = null;
  private closed: Promise<void> | null = null;

  /** @throws ImproperlyConfiguredException naming the invalid option. */
  constructor(app: ASGIAppLike, options?: ServeOptions) {
    const asgiApp = toASGIApp(app);

    this.options = resolveServeOptions(options);
    this.logger = this.options.logger;
    this.native = isNativeUws();
    this.lifespan = new Lifespan(asgiApp, this.options.lifespan, this.logger);
    this.core = new ServerHost(asgiApp, this.options, this.lifespan.state);
  }

  get host(): string {
    return this.options.host;
  }

  /** The bound port; 0 until `listen()` resolved. */
  get port(): number {
    return this.boundPort;
  }

  /** The base URL, such as `http://127.0.0.1:8000`. */
  get url(): string {
    const host = this.host.includes(":") ? `[${this.host}]` : this.host;
    return `${this.core.secure ? "https" : "http"}://${host}:${this.boundPort}`;
  }

  /** Runs lifespan startup, then listens. Calling it again returns the same promise. */
  listen(): Promise<this> {
    return (this.listening ??= this.start());
  }

  /**
   * Stops listening, lets in-flight requests finish within `shutdownTimeout` and then closes
   * them, closes open WebSockets with 1001, and runs lifespan shutdown. Idempotent.
   */
  close(): Promise<void> {
    return (this.closed ??= this.stop());
  }

  private async start(): Promise<this> {
    if (!this.native) {
      // The fallback lacks SSLApp, tryEnd, endWithoutBody and upgrade, and its getQuery throws,
      // so every request would fail: refusing to start says so once, at the right moment.
      const message =
        `uWebSockets.js could not load its native binary for Node.js ${process.version} ` +
        `(ABI ${process.versions.modules}, ${process.platform}-${process.arch}) and this server ` +
        "cannot run on its pure-JS fallback; use Node.js 20, or point the uWebSockets.js " +
        "dependency at a build for this Node.js version";
      this.logger.error({ native: false }, message);
      throw new ImproperlyConfiguredException(message);
    }

    const uwsApp = this.createApp();

    try {
      await this.lifespan.startup();
    } catch (error) {
      this.releaseApp();
      throw error;
    }

    try {
      await this.bind(uwsApp);
    } catch (error) {
      this.releaseApp();
      await this.lifespan.shutdown(this.options.shutdownTimeout);
      throw error;
    }

    this.logger.info(
      {
        host: this.host,
        port: this.boundPort,
        scheme: this.core.secure ? "https" : "http",
        native: this.native,
      },
      "server listening",
    );
    return this;
  }

  private createApp(): TemplatedApp {
    const uwsApp = this.core.secure ? this.createSSLApp() : uWS.App();

    uwsApp.any("/*", (res, req) => this.handleRequest(res, req));
    uwsApp.ws<SocketData>("/*", {
      ...webSocketBehavior(this.core),
      upgrade: (res, req, context) => this.handleUpgrade(res, req, context),
    });

    this.uwsApp = uwsApp;
    return uwsApp;
  }

  private createSSLApp(): TemplatedApp {
    const tls = this.options.tls!;

    try {
      return uWS.SSLApp({
        key_file_name: tls.keyFile,
        cert_file_name: tls.certFile,
        ...(tls.passphrase === undefined ? {} : { passphrase: tls.passphrase }),
      });
    } catch (error) {
      throw new ImproperlyConfiguredException(
        `\`tls\` files ${JSON.stringify(tls.keyFile)} and ${JSON.stringify(tls.certFile)} ` +
          "could not be loaded; check that they are a matching PEM key and certificate and " +
          "that `tls.passphrase` is right for an encrypted key",
        { cause: error },
      );
    }
  }

  private bind(uwsApp: TemplatedApp): Promise<void> {
    const { host, port } = this.options;

    return new Promise((resolve, reject) => {
      uwsApp.listen(host, port, (listenSocket) => {
        const boundPort = listenSocket ? listenSocketPort(listenSocket) : null;

        if (!listenSocket || boundPort === null) {
          reject(
            new ImproperlyConfiguredException(
              `could not listen on \`host\` ${JSON.stringify(host)}, \`port\` ${port}: the ` +
                "address is in use or not available on this machine; pick another port or host",
            ),
          );
          return;
        }

        this.listenSocket = listenSocket;
        this.boundPort = boundPort;
        this.core.serverAddress = Object.freeze([host, boundPort]) as Address;
        resolve();
      });
    });
  }

  /** Runs inside a uWS callback, where an escaping exception would take down the process. */
  private handleRequest(res: HttpResponse, req: HttpRequest): void {
    try {
      handleHTTPRequest(this.core, res, req);
    } catch (error) {
      this.dropAfterFault(res, error);
    }
  }

  private handleUpgrade(res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void {
    try {
      handleUpgrade(this.core, res, req, context);
    } catch (error) {
      this.dropAfterFault(res, error);
    }
  }

  private dropAfterFault(res: HttpResponse, error: unknown): void {
    this.logger.error({ err: error }, "server failed to handle a request; closed its connection");

    try {
      res.close();
    } catch {
      // The response had already ended or been aborted, so there is nothing left to close.
    }
  }

  private async stop(): Promise<void> {
    if (this.listening !== null) await this.waitForStart(this.listening);
    if (this.listenSocket === null) return;

    const { requests, webSockets } = this.core;
    this.core.closing = true;
    uWS.us_listen_socket_close(this.listenSocket);
    this.listenSocket = null;
    this.logger.info({ requests: requests.size, webSockets: webSockets.size }, "server stopping");

    for (const connection of requests.toArray()) connection.closeAfterResponse();
    await this.drain(requests, "requests");
    for (const connection of webSockets.toArray()) connection.forceClose();
    await this.drain(webSockets, "WebSocket apps");

    // Closes the keep-alive connections that carry no request.
    this.releaseApp();

    await this.lifespan.shutdown(this.options.shutdownTimeout);
    this.logger.info({ host: this.host, port: this.boundPort }, "server stopped");
  }

  /**
   * Waits for `listen()` to settle. A lifespan startup still pending after `shutdownTimeout`
   * is abandoned, which makes `listen()` reject with LifespanError.
   */
  private async waitForStart(listening: Promise<this>): Promise<void> {
    const settled = listening.then(
      () => true,
      () => true,
    );

    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), this.options.shutdownTimeout);
    });

    const started = await Promise.race([settled, timeout]);
    clearTimeout(timer);
    if (started) return;

    this.lifespan.abandonStartup(
      `close() was called and startup did not complete within ${this.options.shutdownTimeout} ms`,
    );
    await settled;
  }

  /** Closes every socket of the uWS app; the pure-JS fallback has no `close()`. */
  private releaseApp(): void {
    (this.uwsApp as { close?: () => void } | null)?.close?.();
    this.uwsApp = null;
  }

  /** Waits up to `shutdownTimeout` for `connections` to finish, then force-closes the rest. */
  private async drain(connections: RunningConnections, label: string): Promise<void> {
    const finished = await this.core.waitUntilEmpty(connections);
    if (finished) return;

    this.logger.warn(
      { count: connections.size, shutdownTimeout: this.options.shutdownTimeout },
      `${label} still running after shutdownTimeout; closing their connections`,
    );
    for (const connection of connections.toArray()) connection.forceClose();
  }
}

function toASGIApp(app: ASGIAppLike): ASGIApp {
  if (typeof app === "function") return app;

  const asgi = (app as { asgi?: unknown } | null)?.asgi;
  if (typeof asgi === "function") return asgi as ASGIApp;

  throw new ImproperlyConfiguredException(
    `\`app\` must be an ASGI app function (scope, receive, send) or an object with one as ` +
      `\`asgi\`, got ${app === null ? "null" : typeof app}`,
  );
}
