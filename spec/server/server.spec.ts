import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import https from "node:https";
import net from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { expect } from "chai";
import WebSocket from "ws";

import { ImproperlyConfiguredException } from "../../lib/exceptions";
import { isNativeUws, serve, Server } from "../../lib/server";
import type { ASGIApp, ReceiveMessage, Scope } from "../../lib/types/asgi";
import { headerValue, RawConnection } from "../helpers/raw-http";
import {
  CapturingLogger,
  closeServers,
  deferred,
  startServer,
  textApp,
  waitUntil,
  within,
} from "../helpers/server-harness";

const GET = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";

function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.on("connect", () => {
      socket.destroy();
      resolvePromise(false);
    });
    socket.on("error", () => resolvePromise(true));
  });
}

/** Builds an app whose HTTP requests wait for `release` before responding 200. */
function heldApp(release: Promise<void>, arrived: () => void): ASGIApp {
  return async (scope: Scope, _receive, send) => {
    if (scope.type !== "http") return;

    arrived();
    await release;
    await send({ type: "http.response.start", status: 200 });
    await send({ type: "http.response.body", body: Buffer.from("finished") });
  };
}

describe("Server", () => {
  afterEach(closeServers);

  it("listens on a free port", async () => {
    const { server, port, logger } = await startServer(textApp("hi"));

    const response = await fetch(`${server.url}/`);

    expect(port).to.be.above(0);
    expect(server.host).to.equal("127.0.0.1");
    expect(server.url).to.equal(`http://127.0.0.1:${port}`);
    expect(await response.text()).to.equal("hi");
    const listening = logger.entries.find((entry) => entry.message === "server listening");
    expect(listening?.level).to.equal("info");
    expect(listening?.context).to.deep.equal({
      host: "127.0.0.1",
      port,
      scheme: "http",
      native: true,
    });
  });

  it("serves on IPv6 loopback", async () => {
    const { server } = await startServer(textApp("six"), { host: "::1" });

    const response = await fetch(`${server.url}/`);

    expect(server.url).to.equal(`http://[::1]:${server.port}`);
    expect(await response.text()).to.equal("six");
  });

  it("rejects a port in use", async () => {
    const { port } = await startServer(textApp());

    const error = await serve(textApp(), { port, logger: new CapturingLogger() }).then(
      () => null,
      (rejection: unknown) => rejection as Error,
    );

    expect(error).to.be.instanceOf(ImproperlyConfiguredException);
    expect(error!.message).to.include(String(port));
  });

  it("listen returns one promise", async () => {
    const server = new Server(textApp(), { lifespan: "off", logger: new CapturingLogger() });

    const first = server.listen();
    const second = server.listen();
    await first;
    await server.close();

    expect(first).to.equal(second);
  });

  describe("close", () => {
    it("stops listening", async () => {
      const { server, port, logger } = await startServer(textApp());

      await server.close();

      expect(await connectionRefused(port)).to.equal(true);
      expect(logger.entries.map((entry) => entry.message)).to.include("server stopped");
    });

    it("is idempotent", async () => {
      const { server } = await startServer(textApp());

      const first = server.close();
      const second = server.close();
      await Promise.all([first, second]);

      expect(first).to.equal(second);
      await server.close();
    });

    it("resolves before listen", async () => {
      const server = new Server(textApp(), { logger: new CapturingLogger() });

      await within(server.close(), 1000, "close without listen");

      expect(server.port).to.equal(0);
    });

    it("lets in-flight requests finish", async () => {
      const release = deferred();
      const arrived = deferred();
      const { server, port } = await startServer(heldApp(release.promise, arrived.resolve));
      const connection = await RawConnection.open(port);

      connection.write(GET);
      await within(arrived.promise, 2000, "the request arrived");
      let closed = false;
      const closing = server.close().then(() => (closed = true));
      await new Promise((resolvePromise) => setTimeout(resolvePromise, 50));
      const refusedWhileDraining = await connectionRefused(port);
      const closedEarly = closed;
      release.resolve();
      const response = await connection.readResponse();
      await closing;
      await connection.waitClose();

      expect(closedEarly).to.equal(false);
      expect(refusedWhileDraining).to.equal(true);
      expect(response.status).to.equal(200);
      expect(response.body.toString()).to.equal("finished");
      expect(headerValue(response, "connection")?.toLowerCase()).to.equal("close");
    });

    it("sends 503 on kept-alive connections", async () => {
      const release = deferred();
      const arrived = deferred();
      let calls = 0;
      const heldRequests = heldApp(release.promise, () => {
        calls += 1;
        if (calls === 2) arrived.resolve();
      });
      const app: ASGIApp = async (scope, receive, send) => {
        if (scope.type === "http" && scope.path === "/quick")
          return textApp("quick")(scope, receive, send);
        return heldRequests(scope, receive, send);
      };
      const { server, port } = await startServer(app);
      const idle = await RawConnection.open(port);
      const busy = await RawConnection.open(port);

      idle.write("GET /quick HTTP/1.1\r\nHost: a\r\n\r\n");
      await idle.readResponse();
      busy.write(GET);
      await waitUntil(() => calls === 1, "the held request arrived");
      const closing = server.close();
      idle.write(GET);
      const refused = await idle.readResponse();
      release.resolve();
      await busy.readResponse();
      await closing;

      expect(refused.status).to.equal(503);
      expect(headerValue(refused, "connection")?.toLowerCase()).to.equal("close");
      expect(calls).to.equal(1);
    });

    it("closes requests after shutdownTimeout", async () => {
      const arrived = deferred();
      const { server, port, logger } = await startServer(
        heldApp(new Promise(() => undefined), arrived.resolve),
        { shutdownTimeout: 100 },
      );
      const connection = await RawConnection.open(port);

      connection.write(GET);
      await within(arrived.promise, 2000, "the request arrived");
      await within(server.close(), 2000, "close after the timeout");
      const response = await connection.readResponse();

      expect(response.status).to.equal(503);
      const warnings = logger.at("warn");
      expect(warnings).to.have.length(1);
      expect(warnings[0].context).to.deep.include({ count: 1, shutdownTimeout: 100 });
    });

    it("closes idle keep-alive connections", async () => {
      const { server, port } = await startServer(textApp());
      const connection = await RawConnection.open(port);

      connection.write(GET);
      await connection.readResponse();
      await server.close();
      await connection.waitClose();

      expect(connection.closed).to.equal(true);
    });

    it("closes WebSockets with 1001", async () => {
      const disconnect = deferred<ReceiveMessage>();
      const app: ASGIApp = async (scope, receive, send) => {
        if (scope.type !== "websocket") return;

        await receive();
        await send({ type: "websocket.accept" });
        disconnect.resolve(await receive());
      };
      const { server, port } = await startServer(app);
      const socket = new WebSocket(`ws://127.0.0.1:${port}/`);
      const closedByServer = new Promise<number>((resolvePromise) =>
        socket.on("close", (code) => resolvePromise(code)),
      );
      await new Promise((resolvePromise) => socket.on("open", resolvePromise));

      await within(server.close(), 2000, "close with an open socket");

      expect(await closedByServer).to.equal(1001);
      expect(await disconnect.promise).to.deep.include({
        type: "websocket.disconnect",
        code: 1001,
      });
    });
  });

  describe("TLS", () => {
    let directory = "";
    let keyFile = "";
    let certFile = "";
    let certificate = "";

    before(function () {
      try {
        execFileSync("openssl", ["version"], { stdio: "ignore" });
      } catch {
        console.warn("    skipping TLS specs: the openssl command is not available");
        this.skip();
      }

      directory = mkdtempSync(join(tmpdir(), "server-tls-"));
      keyFile = join(directory, "key.pem");
      certFile = join(directory, "cert.pem");
      execFileSync(
        "openssl",
        [
          "req",
          "-x509",
          "-newkey",
          "rsa:2048",
          "-nodes",
          "-keyout",
          keyFile,
          "-out",
          certFile,
          "-days",
          "1",
          "-subj",
          "/CN=127.0.0.1",
          "-addext",
          "subjectAltName=IP:127.0.0.1",
        ],
        { stdio: "ignore" },
      );
      certificate = execFileSync("cat", [certFile]).toString();
    });

    after(() => {
      if (directory !== "") rmSync(directory, { recursive: true, force: true });
    });

    it("serves HTTPS", async () => {
      const schemes: string[] = [];
      const app: ASGIApp = async (scope, receive, send) => {
        if (scope.type === "http") schemes.push(scope.scheme);
        return textApp("secure")(scope, receive, send);
      };
      const { server } = await startServer(app, { tls: { keyFile, certFile } });

      const body = await new Promise<string>((resolvePromise, reject) => {
        https
          .get(`${server.url}/`, { ca: certificate }, (response) => {
            let text = "";
            response.on("data", (chunk: Buffer) => (text += chunk.toString()));
            response.on("end", () => resolvePromise(text));
          })
          .on("error", reject);
      });

      expect(server.url).to.match(/^https:/);
      expect(body).to.equal("secure");
      expect(schemes).to.deep.equal(["https"]);
    });

    it("serves WSS", async () => {
      const schemes: string[] = [];
      const app: ASGIApp = async (scope, receive, send) => {
        if (scope.type !== "websocket") return;

        schemes.push(scope.scheme);
        await receive();
        await send({ type: "websocket.accept" });
        await send({ type: "websocket.send", text: "over tls" });
        await send({ type: "websocket.close" });
      };
      const { port } = await startServer(app, { tls: { keyFile, certFile } });

      const text = await new Promise<string>((resolvePromise, reject) => {
        const socket = new WebSocket(`wss://127.0.0.1:${port}/`, { ca: certificate });
        socket.on("message", (data) => resolvePromise(String(data)));
        socket.on("error", reject);
      });

      expect(text).to.equal("over tls");
      expect(schemes).to.deep.equal(["wss"]);
    });

    it("rejects files that are not PEM", async () => {
      const error = await serve(textApp(), {
        tls: { keyFile: certFile, certFile: keyFile },
        logger: new CapturingLogger(),
      }).then(
        () => null,
        (rejection: unknown) => rejection as Error,
      );

      expect(error).to.be.instanceOf(ImproperlyConfiguredException);
      expect(error!.message).to.include("`tls`");
    });
  });

  describe("native binary", () => {
    it("is loaded here", () => {
      expect(isNativeUws()).to.equal(true);
    });

    it("rejects serve when missing", function () {
      this.timeout(20000);
      const root = resolve(__dirname, "../..");
      const script = [
        'const { serve, isNativeUws } = require("./lib/server");',
        "const entries = [];",
        "const record = (level) => (context, message) => entries.push({ level, message });",
        "const logger = {",
        '  debug: record("debug"), info: record("info"),',
        '  warn: record("warn"), error: record("error"),',
        "};",
        'serve(async () => {}, { lifespan: "off", logger })',
        "  .then((server) => server.close().then(() => null), (error) => error.message)",
        "  .then((rejection) => {",
        "    const result = JSON.stringify({ native: isNativeUws(), entries, rejection });",
        '    process.stdout.write("RESULT " + result + "\\n");',
        "    process.exit(0);",
        "  });",
      ].join("\n");

      const child = spawnSync(
        process.execPath,
        ["-r", "ts-node/register/transpile-only", "-e", script],
        {
          cwd: root,
          env: { ...process.env, UWS_USE_FALLBACK: "1" },
          encoding: "utf8",
          timeout: 15000,
        },
      );
      const line = child.stdout.split("\n").find((text) => text.startsWith("RESULT "));
      expect(line, child.stderr).to.be.a("string");
      const result = JSON.parse(line!.slice("RESULT ".length)) as {
        native: boolean;
        entries: Array<{ level: string; message: string }>;
        rejection: string | null;
      };

      expect(result.native).to.equal(false);
      expect(result.rejection).to.be.a("string");
      expect(result.rejection).to.include("pure-JS fallback");
      expect(result.rejection).to.include(process.version);
      const errors = result.entries.filter((entry) => entry.level === "error");
      expect(errors).to.have.length(1);
      expect(errors[0].message).to.equal(result.rejection);
    });
  });
});
