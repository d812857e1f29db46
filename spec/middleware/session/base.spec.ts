import { expect } from "chai";

import { ImproperlyConfiguredException } from "../../../lib/exceptions";
import { silentLogger } from "../../../lib/logger";
import { isEmptySession } from "../../../lib/middleware/session/base";
import { CookieBackendConfig } from "../../../lib/middleware/session/client-side";
import {
  ServerSideSessionConfig,
  type ServerSideSessionOptions,
} from "../../../lib/middleware/session/server-side";
import { MemoryStore } from "../../../lib/stores/memory";
import type {
  ASGIApp,
  Header,
  HTTPResponseStartEvent,
  HTTPScope,
  SendMessage,
} from "../../../lib/types/asgi";
import { cookieHeader, makeHttpScope, requestInProcess } from "./helpers";

const SECRET = Buffer.alloc(32, 7);

/** What these specs read of either backend's config. */
interface AnyConfig {
  middleware: { wrap(app: ASGIApp): ASGIApp };
  excludePattern: RegExp | null;
}

const BACKENDS: Array<[string, (options: Record<string, unknown>) => AnyConfig]> = [
  [
    "client-side",
    (options) => new CookieBackendConfig({ secret: SECRET, logger: silentLogger, ...options }),
  ],
  [
    "server-side",
    (options) =>
      new ServerSideSessionConfig({
        store: new MemoryStore(),
        logger: silentLogger,
        ...(options as ServerSideSessionOptions),
      }),
  ],
];

/**
 * Sends one request through `config`'s middleware to an app that stores `user` when given and
 * starts its response with `start`, reused as it is. Returns the messages that reached the
 * client and the cookies to send next.
 */
async function sendThrough(
  config: AnyConfig,
  start: HTTPResponseStartEvent,
  jar: Record<string, string>,
  user?: string,
): Promise<{ sent: SendMessage[]; setCookies: string[] }> {
  const inner: ASGIApp = async (scope, _receive, send) => {
    if (user !== undefined) (scope as HTTPScope).session!.user = user;
    await send(start);
    await send({ type: "http.response.body", body: new Uint8Array(0) });
  };
  const header = cookieHeader(jar);
  const scope = makeHttpScope(header === "" ? [] : [["cookie", header]]);
  const sent: SendMessage[] = [];

  await config.middleware.wrap(inner)(
    scope,
    async () => ({ type: "http.disconnect" }),
    async (message) => {
      sent.push(message);
    },
  );

  const first = sent[0] as HTTPResponseStartEvent;
  const setCookies = (first.headers ?? [])
    .filter(([name]) => name === "set-cookie")
    .map(([, value]) => value);
  return { sent, setCookies };
}

function cookiesFrom(setCookies: string[]): Record<string, string> {
  // No prototype, so a cookie named __proto__ is stored as a key.
  const jar: Record<string, string> = Object.create(null);

  for (const header of setCookies) {
    const pair = header.split(";")[0];
    const equals = pair.indexOf("=");
    jar[pair.slice(0, equals)] = pair.slice(equals + 1);
  }

  return jar;
}

for (const [backendName, makeConfig] of BACKENDS) {
  describe(`SessionMiddleware send wrapper (${backendName})`, () => {
    it("keeps a shared headers array", async () => {
      const config = makeConfig({});
      const shared: Header[] = [["content-type", "text/plain"]];
      const start: HTTPResponseStartEvent = {
        type: "http.response.start",
        status: 200,
        headers: shared,
      };

      const login = await sendThrough(config, start, {}, "alice");
      const anonymous = await sendThrough(config, start, {});

      expect(login.setCookies).to.have.length(1);
      expect(shared).to.deep.equal([["content-type", "text/plain"]]);
      expect(anonymous.setCookies).to.deep.equal([]);
    });

    it("keeps a shared message object", async () => {
      const config = makeConfig({});
      const start: HTTPResponseStartEvent = { type: "http.response.start", status: 200 };

      const login = await sendThrough(config, start, {}, "alice");

      expect(login.setCookies).to.have.length(1);
      expect(start).to.deep.equal({ type: "http.response.start", status: 200 });
      expect(login.sent[0]).not.to.equal(start);
    });

    it("writes with a frozen headers array", async () => {
      const config = makeConfig({});
      const frozen = Object.freeze([Object.freeze(["content-type", "text/plain"])]) as Header[];
      const start = Object.freeze({
        type: "http.response.start",
        status: 200,
        headers: frozen,
      }) as HTTPResponseStartEvent;

      const login = await sendThrough(config, start, {}, "alice");
      const sentHeaders = (login.sent[0] as HTTPResponseStartEvent).headers;

      expect(login.setCookies).to.have.length(1);
      expect(sentHeaders![0]).to.deep.equal(["content-type", "text/plain"]);
      expect(frozen).to.have.length(1);
    });

    it("clears without touching shared headers", async () => {
      const config = makeConfig({});
      const shared: Header[] = [["content-type", "text/plain"]];
      const start: HTTPResponseStartEvent = {
        type: "http.response.start",
        status: 200,
        headers: shared,
      };
      const login = await sendThrough(config, start, {}, "alice");

      const inner: ASGIApp = async (scope, _receive, send) => {
        (scope as HTTPScope).session = null;
        await send(start);
      };
      const header = cookieHeader(cookiesFrom(login.setCookies));
      const sent: SendMessage[] = [];
      await config.middleware.wrap(inner)(
        makeHttpScope([["cookie", header]]),
        async () => ({ type: "http.disconnect" }),
        async (message) => {
          sent.push(message);
        },
      );

      const clearing = (sent[0] as HTTPResponseStartEvent).headers!.filter(
        ([name]) => name === "set-cookie",
      );
      expect(clearing).to.have.length(1);
      expect(shared).to.deep.equal([["content-type", "text/plain"]]);
    });
  });

  describe(`BaseBackendConfig options (${backendName})`, () => {
    const valid: Array<[string, Record<string, unknown>]> = [
      ["domain example.com", { domain: "example.com" }],
      ["domain with leading dot", { domain: ".example.com" }],
      ["domain with hyphen", { domain: "my-site.example" }],
      ["domain localhost", { domain: "localhost" }],
      ["domain of 63-letter label", { domain: `${"a".repeat(63)}.com` }],
      ["path with space", { path: "/a b" }],
      ["path with tilde", { path: "/~user/%20" }],
      ["maxAge 100 years", { maxAge: 3155760000 }],
      ["exclude empty string", { exclude: "" }],
      ["exclude list", { exclude: ["^/health", "/static/"] }],
      ["excludeOptKey custom", { excludeOptKey: "no_session" }],
      ["scopes http only", { scopes: ["http"] }],
      ["scopes as a Set", { scopes: new Set(["websocket"]) }],
      ["secure true", { secure: true }],
      ["httpOnly false", { httpOnly: false }],
      ["serializer object", { serializer: { serialize: JSON.stringify, deserialize: JSON.parse } }],
      ["logger object", { logger: silentLogger }],
    ];

    for (const [name, options] of valid) {
      it(`accepts ${name}`, () => {
        expect(() => makeConfig(options)).not.to.throw();
      });
    }

    const invalid: Array<[string, Record<string, unknown>, RegExp]> = [
      ["secure string", { secure: "false" }, /secure must be true or false, got "false"/],
      ["httpOnly number", { httpOnly: 0 }, /httpOnly must be true or false, got 0/],
      ["domain empty", { domain: "" }, /domain "" is not a valid cookie domain/],
      ["domain with space", { domain: "a b.com" }, /domain "a b.com" is not a valid/],
      ["domain with comma", { domain: "ex.com, evil=1" }, /domain "ex.com, evil=1" is not/],
      ["domain non-ASCII", { domain: "é.com" }, /domain "é.com" is not a valid .*punycode/],
      ["domain of 64-letter label", { domain: `${"a".repeat(64)}.com` }, /is not a valid/],
      ["domain trailing hyphen", { domain: "a-.com" }, /is not a valid cookie domain/],
      ["domain number", { domain: 5 }, /domain 5 is not a valid cookie domain/],
      ["path non-ASCII", { path: "/é" }, /path "\/é" is not a valid cookie path/],
      ["path with semicolon", { path: "/a;b" }, /path "\/a;b" is not a valid cookie path/],
      ["path with newline", { path: "/a\nb" }, /is not a valid cookie path/],
      ["maxAge over 100 years", { maxAge: 3155760001 }, /maxAge must be .*from 1 to 3155760000/],
      ["maxAge 1e21", { maxAge: 1e21 }, /maxAge must be .*got 1e\+21/],
      ["maxAge string", { maxAge: "60" }, /maxAge must be .*got "60"/],
      ["exclude bad pattern", { exclude: "(" }, /exclude pattern "\(" .*not a valid regular/],
      ["exclude number item", { exclude: ["/a", 5] }, /exclude\[1\] must be a string .*got 5/],
      ["exclude number", { exclude: 5 }, /exclude must be a string or a list of strings/],
      ["excludeOptKey empty", { excludeOptKey: "" }, /excludeOptKey must be a non-empty string/],
      ["excludeOptKey number", { excludeOptKey: 5 }, /excludeOptKey must be .*got 5/],
      ["scopes string", { scopes: "http" }, /scopes must be a list .*got "http"/],
      ["scopes number", { scopes: 5 }, /scopes must be a list .*got 5/],
      ["scopes empty", { scopes: [] }, /scopes is empty, so the middleware would never run/],
      ["scopes upper case", { scopes: ["HTTP"] }, /scopes contains "HTTP"/],
      ["serializer empty object", { serializer: {} }, /serializer must have serialize and/],
      ["serializer function", { serializer: JSON.stringify }, /serializer must have serialize/],
      ["logger empty object", { logger: {} }, /logger must have debug, info, warn and error/],
      ["logger without error", { logger: { ...silentLogger, error: 1 } }, /logger must have/],
    ];

    for (const [name, options, message] of invalid) {
      it(`rejects ${name}`, () => {
        expect(() => makeConfig(options))
          .to.throw(ImproperlyConfiguredException)
          .with.property("message")
          .that.matches(message);
      });
    }

    it("compiles exclude patterns once", () => {
      const config = makeConfig({ exclude: ["^/health", "/static/"] });

      const pattern = config.excludePattern!;

      expect(pattern).to.be.instanceOf(RegExp);
      expect(pattern.test("/health")).to.equal(true);
      expect(pattern.test("/app/static/a.css")).to.equal(true);
      expect(pattern.test("/app")).to.equal(false);
    });
  });

  describe(`cookie names of Object members (${backendName})`, () => {
    for (const key of ["constructor", "toString", "__proto__"]) {
      it(`sets nothing for anonymous ${key}`, async () => {
        const config = makeConfig({ key });

        const result = await requestInProcess(config.middleware, {});

        expect(result.setCookies).to.deep.equal([]);
      });

      it(`keeps a session in ${key}`, async () => {
        const config = makeConfig({ key });
        const start: HTTPResponseStartEvent = { type: "http.response.start", status: 200 };
        const login = await sendThrough(config, start, {}, "alice");

        const result = await requestInProcess(config.middleware, cookiesFrom(login.setCookies));

        expect(login.setCookies[0].startsWith(`${key}=`)).to.equal(true);
        expect(result.session).to.deep.equal({ user: "alice" });
      });
    }
  });

  describe(`empty sessions (${backendName})`, () => {
    it("sets no cookie for undefined values", async () => {
      const config = makeConfig({});

      const result = await requestInProcess(config.middleware, {}, (scope) => {
        scope.session!.pending = undefined;
      });

      expect(result.setCookies).to.deep.equal([]);
    });
  });
}

describe("isEmptySession", () => {
  const cases: Array<[string, Record<string, unknown> | null | undefined, boolean]> = [
    ["null", null, true],
    ["undefined", undefined, true],
    ["no keys", {}, true],
    ["only undefined values", { a: undefined, b: undefined }, true],
    ["a null value", { a: null }, false],
    ["one defined value", { a: undefined, b: 0 }, false],
  ];

  for (const [name, session, expected] of cases) {
    it(`returns ${expected} for ${name}`, () => {
      expect(isEmptySession(session)).to.equal(expected);
    });
  }
});

describe("ServerSideSessionConfig options", () => {
  const invalid: Array<[string, Record<string, unknown>, RegExp]> = [
    ["renewOnAccess string", { renewOnAccess: "false" }, /renewOnAccess must be true or false/],
    ["store with get only", { store: { get() {} } }, /store .*get, set, delete and exists/],
    ["store number", { store: 5 }, /store must be a store name .*got 5/],
    ["store empty name", { store: "" }, /store must be a store name .*got ""/],
  ];

  for (const [name, options, message] of invalid) {
    it(`rejects ${name}`, () => {
      expect(() => new ServerSideSessionConfig({ logger: silentLogger, ...options }))
        .to.throw(ImproperlyConfiguredException)
        .with.property("message")
        .that.matches(message);
    });
  }

  it("accepts a store instance", () => {
    const store = new MemoryStore();

    expect(new ServerSideSessionConfig({ store }).store).to.equal(store);
  });
});
