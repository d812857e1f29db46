import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";

import { ImproperlyConfiguredException } from "../../lib/exceptions";
import { silentLogger } from "../../lib/logger";
import {
  DEFAULT_MAX_BODY_SIZE,
  DEFAULT_SHUTDOWN_TIMEOUT,
  DEFAULT_WEBSOCKET_OPTIONS,
  resolveServeOptions,
  Server,
  serve,
  type ServeOptions,
} from "../../lib/server";

const noopApp = async (): Promise<void> => undefined;

function rejectionOf(options: unknown): ImproperlyConfiguredException {
  try {
    resolveServeOptions(options as ServeOptions);
  } catch (error) {
    expect(error).to.be.instanceOf(ImproperlyConfiguredException);
    return error as ImproperlyConfiguredException;
  }

  throw new Error(`options ${JSON.stringify(options)} were accepted`);
}

describe("resolveServeOptions", () => {
  it("applies defaults", () => {
    const options = resolveServeOptions({ logger: silentLogger });

    expect(options.host).to.equal("127.0.0.1");
    expect(options.port).to.equal(0);
    expect(options.tls).to.equal(null);
    expect(options.rootPath).to.equal("");
    expect(options.lifespan).to.equal("auto");
    expect(options.maxBodySize).to.equal(DEFAULT_MAX_BODY_SIZE);
    expect(options.maxBodySize).to.equal(10_000_000);
    expect(options.websocket).to.deep.equal(DEFAULT_WEBSOCKET_OPTIONS);
    expect(options.shutdownTimeout).to.equal(DEFAULT_SHUTDOWN_TIMEOUT);
    expect(options.logger).to.equal(silentLogger);
  });

  it("returns frozen options", () => {
    const options = resolveServeOptions({ websocket: { idleTimeout: 0 } });

    expect(Object.isFrozen(options)).to.equal(true);
    expect(Object.isFrozen(options.websocket)).to.equal(true);
  });

  it("leaves the caller's object untouched", () => {
    const requested: ServeOptions = { port: 8080, websocket: { maxBackpressure: 1024 } };
    const copy = JSON.parse(JSON.stringify(requested));

    resolveServeOptions(requested);

    expect(requested).to.deep.equal(copy);
  });

  it("fills websocket defaults per key", () => {
    const options = resolveServeOptions({ websocket: { maxBackpressure: 2048 } });

    expect(options.websocket.maxBackpressure).to.equal(2048);
    expect(options.websocket.maxPayloadLength).to.equal(DEFAULT_WEBSOCKET_OPTIONS.maxPayloadLength);
    expect(options.websocket.idleTimeout).to.equal(DEFAULT_WEBSOCKET_OPTIONS.idleTimeout);
  });

  const accepted: Array<[string, ServeOptions]> = [
    ["port 0", { port: 0 }],
    ["port 65535", { port: 65535 }],
    ["host ::1", { host: "::1" }],
    ["rootPath ''", { rootPath: "" }],
    ["rootPath /api/v1", { rootPath: "/api/v1" }],
    ["maxBodySize 0", { maxBodySize: 0 }],
    ["lifespan on", { lifespan: "on" }],
    ["lifespan off", { lifespan: "off" }],
    ["idleTimeout 0", { websocket: { idleTimeout: 0 } }],
    ["idleTimeout 8", { websocket: { idleTimeout: 8 } }],
    ["idleTimeout 960", { websocket: { idleTimeout: 960 } }],
    ["maxPayloadLength 1", { websocket: { maxPayloadLength: 1 } }],
    ["maxPayloadLength 2^32-1", { websocket: { maxPayloadLength: 2 ** 32 - 1 } }],
    ["maxBackpressure 2^32-1", { websocket: { maxBackpressure: 2 ** 32 - 1 } }],
    ["shutdownTimeout 0", { shutdownTimeout: 0 }],
  ];

  for (const [name, options] of accepted) {
    it(`accepts ${name}`, () => {
      expect(() => resolveServeOptions(options)).not.to.throw();
    });
  }

  const rejected: Array<[string, unknown, string]> = [
    ["port -1", { port: -1 }, "`port`"],
    ["port 65536", { port: 65536 }, "`port`"],
    ["port 1.5", { port: 1.5 }, "`port`"],
    ["port as string", { port: "80" }, "`port`"],
    ["empty host", { host: "" }, "`host`"],
    ["host with space", { host: "local host" }, "`host`"],
    ["rootPath without slash", { rootPath: "api" }, "`rootPath`"],
    ["rootPath with trailing slash", { rootPath: "/api/" }, "`rootPath`"],
    ["rootPath with query", { rootPath: "/api?x" }, "`rootPath`"],
    ["unknown lifespan", { lifespan: "yes" }, "`lifespan`"],
    ["negative maxBodySize", { maxBodySize: -1 }, "`maxBodySize`"],
    ["fractional maxBodySize", { maxBodySize: 1.5 }, "`maxBodySize`"],
    ["idleTimeout 7", { websocket: { idleTimeout: 7 } }, "`websocket.idleTimeout`"],
    ["idleTimeout 961", { websocket: { idleTimeout: 961 } }, "`websocket.idleTimeout`"],
    ["maxPayloadLength 0", { websocket: { maxPayloadLength: 0 } }, "`websocket.maxPayloadLength`"],
    ["maxBackpressure 0", { websocket: { maxBackpressure: 0 } }, "`websocket.maxBackpressure`"],
    [
      "maxPayloadLength 2^32",
      { websocket: { maxPayloadLength: 2 ** 32 } },
      "`websocket.maxPayloadLength`",
    ],
    [
      "maxBackpressure 2^32",
      { websocket: { maxBackpressure: 2 ** 32 } },
      "`websocket.maxBackpressure`",
    ],
    ["negative shutdownTimeout", { shutdownTimeout: -1 }, "`shutdownTimeout`"],
    ["infinite shutdownTimeout", { shutdownTimeout: Infinity }, "`shutdownTimeout`"],
    ["logger without error", { logger: { debug() {}, info() {}, warn() {} } }, "`logger`"],
    ["unknown option", { maxBodysize: 10 }, "`maxBodysize`"],
    ["unknown websocket option", { websocket: { idle: 10 } }, "`websocket.idle`"],
    ["options as array", [], "`options`"],
  ];

  for (const [name, options, option] of rejected) {
    it(`rejects ${name}`, () => {
      const error = rejectionOf(options);

      expect(error.message).to.include(option);
    });
  }

  it("names the bad value and the fix", () => {
    const error = rejectionOf({ port: 70000 });

    expect(error.message).to.include("70000");
    expect(error.message).to.include("0 to 65535");
  });

  describe("tls", () => {
    let directory: string;
    let keyFile: string;
    let certFile: string;

    before(() => {
      directory = mkdtempSync(join(tmpdir(), "server-options-"));
      keyFile = join(directory, "key.pem");
      certFile = join(directory, "cert.pem");
      writeFileSync(keyFile, "key");
      writeFileSync(certFile, "cert");
    });

    after(() => {
      rmSync(directory, { recursive: true, force: true });
    });

    it("accepts readable files", () => {
      const options = resolveServeOptions({ tls: { keyFile, certFile, passphrase: "secret" } });

      expect(options.tls).to.deep.equal({ keyFile, certFile, passphrase: "secret" });
    });

    it("rejects a missing key file", () => {
      const missing = join(directory, "missing.pem");
      const error = rejectionOf({ tls: { keyFile: missing, certFile } });

      expect(error.message).to.include("`tls.keyFile`");
      expect(error.message).to.include(missing);
      expect(error.message).to.include("ENOENT");
    });

    it("rejects an empty cert path", () => {
      const error = rejectionOf({ tls: { keyFile, certFile: "" } });

      expect(error.message).to.include("`tls.certFile`");
    });

    it("never echoes the passphrase", () => {
      const error = rejectionOf({ tls: { keyFile, certFile, passphrase: 12345 } });

      expect(error.message).to.include("`tls.passphrase`");
      expect(error.message).not.to.include("12345");
    });
  });
});

describe("Server constructor", () => {
  it("rejects a non-function app", () => {
    expect(() => new Server({} as never, { logger: silentLogger })).to.throw(
      ImproperlyConfiguredException,
      /`app` must be an ASGI app function/,
    );
  });

  it("accepts an object with asgi", () => {
    const server = new Server({ asgi: noopApp }, { logger: silentLogger });

    expect(server.port).to.equal(0);
    expect(server.host).to.equal("127.0.0.1");
  });

  it("makes serve reject invalid options", async () => {
    const error = await serve(noopApp, { port: -5, logger: silentLogger }).then(
      () => null,
      (rejection: unknown) => rejection,
    );

    expect(error).to.be.instanceOf(ImproperlyConfiguredException);
  });
});
