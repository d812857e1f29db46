import cryptoModule, { createCipheriv, randomBytes } from "node:crypto";
import { inspect } from "node:util";

import { expect } from "chai";

import { ASGIConnection } from "../../../lib/connection/base";
import { getConnectionState } from "../../../lib/connection/state";
import { ImproperlyConfiguredException, SessionTooLargeError } from "../../../lib/exceptions";
import { silentLogger } from "../../../lib/logger";
import {
  AAD_MARKER,
  CHUNK_SIZE,
  ClientSideSessionBackend,
  CookieBackendConfig,
  DEFAULT_MAX_CHUNKS,
  MAX_COOKIE_BYTES,
  type CookieBackendOptions,
} from "../../../lib/middleware/session/client-side";
import {
  applySetCookies,
  connectionWithCookies,
  type InProcessResult,
  makeHttpScope,
  parseSetCookie,
  readAsLitestar,
  recordingLogger,
  requestInProcess,
} from "./helpers";
import type { HTTPScope } from "../../../lib/types/asgi";
import { runSessionMiddlewareSuite } from "./suite";

const SECRET = Buffer.from(
  "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
  "hex",
);
const OTHER_SECRET = Buffer.from(
  "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100",
  "hex",
);

function makeConfig(overrides: Partial<CookieBackendOptions> = {}): CookieBackendConfig {
  return new CookieBackendConfig({ secret: SECRET, logger: silentLogger, ...overrides });
}

function wrapped(config: CookieBackendConfig): CookieBackendConfig["middleware"] {
  return config.middleware;
}

/** Encrypts `plaintext` in Litestar's layout with any associated data, bypassing the backend. */
function sealCookie(
  secret: Buffer,
  plaintext: string,
  associatedData: string,
  nonce: Buffer = randomBytes(12),
): string {
  const cipher = createCipheriv(`aes-${secret.length * 8}-gcm` as "aes-256-gcm", secret, nonce);
  cipher.setAAD(Buffer.from(associatedData));
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return Buffer.concat([
    nonce,
    ciphertext,
    cipher.getAuthTag(),
    Buffer.from(AAD_MARKER + associatedData),
  ]).toString("base64");
}

function expiresIn(seconds: number): string {
  return `{"expires_at":${Math.round(Date.now() / 1000) + seconds}}`;
}

/** Session data whose encrypted cookie needs exactly `count` chunks of `chunkLength`. */
function sessionForChunks(count: number, chunkLength = CHUNK_SIZE): Record<string, string> {
  // Base64 length of nonce + ciphertext + tag + marker + AAD for `{"v":"<filler>"}`.
  const overhead = 12 + 16 + AAD_MARKER.length + expiresIn(0).length + '{"v":""}'.length;
  const targetBytes = Math.floor(((count - 1) * chunkLength + chunkLength / 2) * 0.75);
  return { v: "x".repeat(targetBytes - overhead) };
}

function clearingCookieNames(setCookies: string[]): string[] {
  return setCookies
    .map(parseSetCookie)
    .filter(({ attributes }) => attributes.includes("Max-Age=0"))
    .map(({ name }) => name)
    .sort();
}

describe("CookieBackendConfig", () => {
  const valid: Array<[string, Partial<CookieBackendOptions>]> = [
    ["16-byte secret", { secret: randomBytes(16) }],
    ["24-byte secret", { secret: randomBytes(24) }],
    ["32-byte secret", { secret: randomBytes(32) }],
    ["Uint8Array secret", { secret: new Uint8Array(32) }],
    ["secret list", { secret: [randomBytes(32), randomBytes(16)] }],
    ["one-letter key", { key: "a" }],
    ["maxAge 1", { maxAge: 1 }],
    ["maxChunks 1", { maxChunks: 1 }],
    ["maxChunks 50", { maxChunks: 50 }],
    ["sameSite none with secure", { sameSite: "none", secure: true }],
    ["__Host- key with secure", { key: "__Host-session", secure: true }],
    ["__Secure- key with secure", { key: "__Secure-session", secure: true, path: "/app" }],
  ];

  for (const [name, overrides] of valid) {
    it(`accepts ${name}`, () => {
      expect(() => makeConfig(overrides)).not.to.throw();
    });
  }

  const invalid: Array<[string, Partial<CookieBackendOptions>, RegExp]> = [
    ["15-byte secret", { secret: randomBytes(15) }, /secret must be 16, 24 or 32 .*got 15 bytes/],
    ["17-byte secret", { secret: randomBytes(17) }, /secret must be .*got 17 bytes/],
    ["33-byte secret", { secret: randomBytes(33) }, /secret must be .*got 33 bytes/],
    ["empty secret", { secret: Buffer.alloc(0) }, /secret must be .*got 0 bytes/],
    ["string secret", { secret: "a".repeat(32) as never }, /secret must be a Buffer.*string/],
    ["empty secret list", { secret: [] }, /secret must be .*non-empty list/],
    ["bad key in list", { secret: [randomBytes(32), randomBytes(20)] }, /secret\[1\].*20 bytes/],
    ["empty key", { key: "" }, /key must be a non-empty cookie name/],
    ["key with space", { key: "my session" }, /key "my session" is not a valid cookie name/],
    ["maxAge 0", { maxAge: 0 }, /maxAge must be .*got 0/],
    ["maxAge 1.5", { maxAge: 1.5 }, /maxAge must be .*got 1.5/],
    ["maxChunks 0", { maxChunks: 0 }, /maxChunks must be .*got 0/],
    ["maxChunks 51", { maxChunks: 51 }, /maxChunks must be .*got 51/],
    ["sameSite none without secure", { sameSite: "none" }, /sameSite "none" requires secure/],
    [
      "__Host- key with domain",
      { key: "__Host-s", secure: true, domain: "example.com" },
      /__Host- prefix/,
    ],
    ["__Host- key with path", { key: "__Host-s", secure: true, path: "/app" }, /__Host- prefix/],
    ["__Secure- key without secure", { key: "__Secure-s" }, /__Secure- or __Host- prefix/],
    ["attributes filling the cookie", { key: "k".repeat(3500) }, /key, path and domain leave/],
  ];

  for (const [name, overrides, message] of invalid) {
    it(`rejects ${name}`, () => {
      expect(() => makeConfig(overrides))
        .to.throw(ImproperlyConfiguredException)
        .with.property("message")
        .that.matches(message);
    });
  }

  it("keeps secrets out of messages", () => {
    const secret = randomBytes(17);
    const attempts: Array<Partial<CookieBackendOptions>> = [
      { secret },
      { secret: [SECRET, secret] },
      { secret, key: "" },
    ];

    for (const overrides of attempts) {
      try {
        makeConfig(overrides);
        expect.fail("the config was accepted");
      } catch (error) {
        const message = (error as Error).message;
        expect(message).not.to.include(secret.toString("hex"));
        expect(message).not.to.include(secret.toString("base64"));
        expect(message).not.to.include(SECRET.toString("hex"));
      }
    }
  });

  it("applies the defaults", () => {
    const config = new CookieBackendConfig({ secret: SECRET });

    expect(config.key).to.equal("session");
    expect(config.maxAge).to.equal(14 * 24 * 60 * 60);
    expect(config.maxChunks).to.equal(DEFAULT_MAX_CHUNKS);
    expect(config.path).to.equal("/");
    expect(config.httpOnly).to.equal(true);
    expect(config.sameSite).to.equal("lax");
    expect(config.backend).to.be.instanceOf(ClientSideSessionBackend);
  });

  it("does not keep the raw secret", () => {
    const config = makeConfig();

    const inspected = inspect(config, { depth: 6, showHidden: true });

    expect(findBytes(config, SECRET, new Set())).to.equal(false);
    expect(inspected).not.to.include(SECRET.toString("hex"));
    expect(config.secretKeys[0].export().equals(SECRET)).to.equal(true);
  });
});

describe("ClientSideSessionBackend format", () => {
  for (const size of [16, 24, 32]) {
    it(`round-trips with a ${size}-byte secret`, () => {
      const secret = randomBytes(size);
      const backend = makeConfig({ secret }).backend;
      const data = { user: "zoë", n: 1, nested: { list: [1, "two", null] } };

      const chunks = backend.dumpData(data);

      expect(backend.loadData(chunks)).to.deep.equal(data);
      expect(readAsLitestar(secret, chunks)).to.deep.equal(data);
    });
  }

  it("writes Litestar's layout", () => {
    const backend = makeConfig({ maxAge: 600 }).backend;
    const before = Math.round(Date.now() / 1000);

    const [value] = backend.dumpData({ a: 1 });
    const decoded = Buffer.from(value, "base64");
    const markerAt = decoded.indexOf(AAD_MARKER);
    const associatedData = decoded.subarray(markerAt + AAD_MARKER.length).toString();

    expect(value).to.match(/^[A-Za-z0-9+/]+={0,2}$/);
    expect(markerAt).to.equal(12 + '{"a":1}'.length + 16);
    expect(associatedData).to.match(/^\{"expires_at":\d+\}$/);
    expect(JSON.parse(associatedData).expires_at - before).to.be.within(600, 601);
  });

  it("never repeats a nonce", () => {
    const backend = makeConfig().backend;
    const nonces = new Set<string>();
    const count = 2500;

    for (let i = 0; i < count; i++) {
      const [value] = backend.dumpData({ i });
      nonces.add(Buffer.from(value, "base64").subarray(0, 12).toString("hex"));
    }

    expect(nonces.size).to.equal(count);
  });

  it("names a single chunk after the key", async () => {
    const config = makeConfig();
    const result = await requestInProcess(wrapped(config), {}, (scope) => {
      scope.session!.user = "u1";
    });

    expect(result.setCookies).to.have.length(1);
    expect(parseSetCookie(result.setCookies[0]).name).to.equal("session");
  });

  for (let count = 1; count <= 15; count++) {
    it(`stores and loads ${count} chunks`, async () => {
      const config = makeConfig({ maxChunks: 16 });
      const data = sessionForChunks(count);

      const written = await requestInProcess(wrapped(config), {}, (scope) => {
        Object.assign(scope.session!, data);
      });
      const names = written.setCookies.map((header) => parseSetCookie(header).name);
      const expectedNames =
        count === 1 ? ["session"] : Array.from({ length: count }, (_, i) => `session-${i}`);

      expect(names).to.deep.equal(expectedNames);
      for (const header of written.setCookies) {
        expect(Buffer.byteLength(header)).to.be.at.most(MAX_COOKIE_BYTES);
      }

      const jar = applySetCookies({}, written.setCookies);
      const reversed = Object.fromEntries(Object.entries(jar).reverse());
      const read = await requestInProcess(wrapped(config), reversed);

      expect(read.session).to.deep.equal(data);
      expect(read.setCookies).to.deep.equal([]);
    });
  }

  it("loads chunks from split headers", async () => {
    const backend = makeConfig().backend;
    const data = sessionForChunks(3);
    const [first, second, third] = backend.dumpData(data);
    const scope = makeHttpScope([
      ["cookie", `other=1; session-2=${third}; session-0=${first}`],
      ["cookie", `session-1=${second}`],
    ]);

    expect(await backend.loadFromConnection(new ASGIConnection(scope))).to.deep.equal(data);
  });

  it("shrinks chunks to fit long attributes", async () => {
    const config = makeConfig({
      key: "k".repeat(200),
      domain: "sub.example.com",
      path: "/a/long/application/path",
      secure: true,
      maxChunks: 5,
    });
    const data = sessionForChunks(3);

    const written = await requestInProcess(wrapped(config), {}, (scope) => {
      Object.assign(scope.session!, data);
    });

    expect(written.setCookies.length).to.be.at.least(3);
    for (const header of written.setCookies) {
      expect(Buffer.byteLength(header)).to.be.at.most(MAX_COOKIE_BYTES);
    }

    const read = await requestInProcess(wrapped(config), applySetCookies({}, written.setCookies));
    expect(read.session).to.deep.equal(data);
  });

  it("orders attributes as Litestar does", async () => {
    const config = makeConfig({ domain: "example.com", path: "/app", secure: true });
    const written = await requestInProcess(wrapped(config), {}, (scope) => {
      scope.session!.a = 1;
    });

    expect(parseSetCookie(written.setCookies[0]).attributes).to.deep.equal([
      "Domain=example.com",
      "HttpOnly",
      "Max-Age=1209600",
      "Path=/app",
      "SameSite=lax",
      "Secure",
    ]);
  });
});

/** Sends one request with `cookies` through `config`'s middleware, counting decryptions. */
async function countedRequest(
  config: CookieBackendConfig,
  cookies: Record<string, string>,
  handler?: (scope: HTTPScope) => void,
): Promise<{ result: InProcessResult; deciphers: number }> {
  // The backend calls `createDecipheriv` through the module object, so replacing it counts.
  const real = cryptoModule.createDecipheriv;
  let deciphers = 0;

  cryptoModule.createDecipheriv = ((...args: Parameters<typeof real>) => {
    deciphers += 1;
    return real(...args);
  }) as typeof real;

  try {
    const result = await requestInProcess(wrapped(config), cookies, handler);
    return { result, deciphers };
  } finally {
    cryptoModule.createDecipheriv = real;
  }
}

/** Runs `action` with `Date.now` moved `seconds` ahead. */
async function later<T>(seconds: number, action: () => Promise<T>): Promise<T> {
  const realNow = Date.now;
  Date.now = () => realNow() + seconds * 1000;

  try {
    return await action();
  } finally {
    Date.now = realNow;
  }
}

describe("ClientSideSessionBackend known cookies", () => {
  it("decrypts an unchanged session once", async () => {
    const config = makeConfig();
    const cookies = { session: sealCookie(SECRET, '{"a":1}', expiresIn(10_000_000)) };

    const first = await countedRequest(config, cookies);
    const second = await countedRequest(config, cookies);

    expect(first.deciphers).to.equal(1);
    expect(second.deciphers).to.equal(0);
    expect(second.result.session).to.deep.equal({ a: 1 });
    expect(second.result.setCookies).to.deep.equal([]);
  });

  it("decrypts a changed session again", async () => {
    const config = makeConfig();
    const cookies = { session: sealCookie(SECRET, '{"a":1}', expiresIn(10_000_000)) };
    const change = (scope: HTTPScope) => {
      scope.session!.a = 2;
    };

    await countedRequest(config, cookies, change);
    const second = await countedRequest(config, cookies, change);

    expect(second.deciphers).to.equal(1);
    expect(second.result.setCookies).to.have.length(1);
  });

  it("gives each request its own object", async () => {
    const config = makeConfig();
    const cookies = { session: sealCookie(SECRET, '{"list":[1]}', expiresIn(10_000_000)) };

    await countedRequest(config, cookies);
    await countedRequest(config, cookies, (scope) => {
      (scope.session!.list as number[]).push(2);
    });
    const third = await countedRequest(config, cookies);

    expect(third.result.session).to.deep.equal({ list: [1] });
  });

  it("still expires a known cookie", async () => {
    const config = makeConfig({ maxAge: 60 });
    const cookies = { session: sealCookie(SECRET, '{"a":1}', expiresIn(59)) };
    await countedRequest(config, cookies);

    const expired = await later(61, () => countedRequest(config, cookies));

    expect(expired.result.session).to.deep.equal({});
    expect(expired.result.setCookies).to.have.length(1);
  });

  it("rejects an altered known cookie", async () => {
    const config = makeConfig();
    const value = sealCookie(SECRET, '{"a":1}', expiresIn(10_000_000));
    await countedRequest(config, { session: value });

    const altered = `${value.slice(0, 20)}${value[20] === "A" ? "B" : "A"}${value.slice(21)}`;
    const result = await countedRequest(config, { session: altered });

    expect(result.result.session).to.deep.equal({});
  });

  it("keeps the key rotation rewrite", async () => {
    const config = makeConfig({ secret: [SECRET, OTHER_SECRET] });
    const cookies = { session: sealCookie(OTHER_SECRET, '{"user":"u1"}', expiresIn(600)) };

    for (let i = 0; i < 2; i++) {
      const { result } = await countedRequest(config, cookies);
      expect(result.session).to.deep.equal({ user: "u1" });
      expect(result.setCookies).to.have.length(1);
    }
  });

  it("forgets the oldest cookies", async () => {
    const config = makeConfig();
    const first = { session: sealCookie(SECRET, '{"i":-1}', expiresIn(10_000_000)) };
    await countedRequest(config, first);

    for (let i = 0; i < 1024; i++) {
      await countedRequest(config, {
        session: sealCookie(SECRET, `{"i":${i}}`, expiresIn(10_000_000)),
      });
    }
    const again = await countedRequest(config, first);

    expect(again.deciphers).to.equal(1);
    expect(again.result.session).to.deep.equal({ i: -1 });
  });
});

describe("ClientSideSessionBackend cookie keys", () => {
  it("matches the key literally", () => {
    const backend = makeConfig({ key: "s.id" }).backend;
    const connection = connectionWithCookies({ sXid: "a", "s.id": "b", "sXid-0": "c" });

    expect(backend.getCookieKeys(connection)).to.deep.equal(["s.id"]);
  });

  it("orders chunks by number", () => {
    const backend = makeConfig().backend;
    const cookies: Record<string, string> = {};
    for (const n of [10, 2, 1, 11, 0, 9]) cookies[`session-${n}`] = "x";

    expect(backend.getCookieKeys(connectionWithCookies(cookies))).to.deep.equal([
      "session-0",
      "session-1",
      "session-2",
      "session-9",
      "session-10",
      "session-11",
    ]);
  });

  it("ignores names that only look alike", () => {
    const backend = makeConfig().backend;
    const connection = connectionWithCookies({
      "session-01": "a",
      "session-x": "b",
      sessionid: "c",
      "session-": "d",
      thisisnotasessioncookie: "e",
    });

    expect(backend.getCookieKeys(connection)).to.deep.equal([]);
  });
});

describe("ClientSideSessionBackend bad cookies", () => {
  const config = makeConfig({ maxChunks: 4 });
  const backend = config.backend;
  const goodChunks = backend.dumpData(sessionForChunks(3));
  const goodCookies = Object.fromEntries(goodChunks.map((chunk, i) => [`session-${i}`, chunk]));
  const single = backend.dumpData({ user: "u1" })[0];

  const cases: Array<[string, Record<string, string>]> = [
    ["the null clearing value", { session: "null" }],
    ["an empty value", { session: "" }],
    ["text that is not base64", { session: "!!!not base64!!!" }],
    ["a truncated cookie", { session: single.slice(0, single.length / 2) }],
    ["a cookie without marker", { session: randomBytes(80).toString("base64") }],
    ["a flipped ciphertext byte", { session: flipByte(single, 20) }],
    ["a flipped nonce byte", { session: flipByte(single, 0) }],
    ["a foreign key", { session: sealCookie(OTHER_SECRET, '{"a":1}', expiresIn(600)) }],
    ["an expired cookie", { session: sealCookie(SECRET, '{"a":1}', expiresIn(-1)) }],
    ["an extended expiry", { session: extendExpiry(single) }],
    ["AAD that is not JSON", { session: sealCookie(SECRET, '{"a":1}', "not json") }],
    ["AAD without expires_at", { session: sealCookie(SECRET, '{"a":1}', '{"other":1}') }],
    [
      "a string expires_at",
      { session: sealCookie(SECRET, '{"a":1}', '{"expires_at":"9999999999"}') },
    ],
    ["AAD that is null", { session: sealCookie(SECRET, '{"a":1}', "null") }],
    ["a list session", { session: sealCookie(SECRET, "[1,2]", expiresIn(600)) }],
    ["a string session", { session: sealCookie(SECRET, '"text"', expiresIn(600)) }],
    ["a number session", { session: sealCookie(SECRET, "5", expiresIn(600)) }],
    ["plaintext that is not JSON", { session: sealCookie(SECRET, "{oops", expiresIn(600)) }],
    ["a missing chunk", { "session-0": goodChunks[0], "session-2": goodChunks[2] }],
    ["chunks not starting at 0", { "session-1": goodChunks[1], "session-2": goodChunks[2] }],
    ["a stale single cookie", { ...goodCookies, session: single }],
    ["chunks out of place", { ...goodCookies, "session-0": goodChunks[1] }],
    ["more than 50 chunks", tooManyChunks()],
    ["an oversized single cookie", { session: "A".repeat(50 * CHUNK_SIZE + 4) }],
  ];

  for (const [name, cookies] of cases) {
    it(`drops ${name}`, async () => {
      const logger = recordingLogger();
      const middleware = makeConfig({ maxChunks: 4, logger }).middleware;

      const result = await requestInProcess(middleware, cookies);
      const start = result.messages[0] as { status: number };

      expect(result.session).to.deep.equal({});
      expect(start.status).to.equal(200);
      expect(clearingCookieNames(result.setCookies)).to.deep.equal(Object.keys(cookies).sort());
      expect(logger.entries).to.have.length(1);
      expect(logger.entries[0].level).to.equal("debug");
      expect(logger.entries[0].message).to.match(/starting an empty session$/);

      const logged = JSON.stringify(logger.entries);
      for (const value of Object.values(cookies)) {
        if (value.length > 8) expect(logged).not.to.include(value.slice(0, 40));
      }
    });
  }

  it("drops them through loadData", () => {
    for (const [, cookies] of cases) {
      expect(backend.loadData(Object.values(cookies))).to.deep.equal({});
    }
  });

  it("writes clearing cookies as Litestar", async () => {
    const result = await requestInProcess(wrapped(config), { session: "null" });

    expect(result.setCookies).to.deep.equal([
      "session=null; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Max-Age=0; Path=/; " +
        "SameSite=lax",
    ]);
  });

  function tooManyChunks(): Record<string, string> {
    return Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`session-${i}`, "AAAA"]));
  }
});

describe("ClientSideSessionBackend writes", () => {
  it("skips an unchanged session", async () => {
    const config = makeConfig();
    const [value] = config.backend.dumpData({ user: "u1" });

    const result = await requestInProcess(wrapped(config), { session: value }, (scope) => {
      expect(scope.session).to.deep.equal({ user: "u1" });
    });

    expect(result.setCookies).to.deep.equal([]);
  });

  it("rewrites a changed session", async () => {
    const config = makeConfig();
    const [value] = config.backend.dumpData({ n: 1 });

    const result = await requestInProcess(wrapped(config), { session: value }, (scope) => {
      scope.session!.n = 2;
    });

    expect(result.setCookies).to.have.length(1);
    expect(config.backend.loadData([parseSetCookie(result.setCookies[0]).value])).to.deep.equal({
      n: 2,
    });
  });

  it("renews past half its lifetime", async () => {
    const config = makeConfig({ maxAge: 1000 });
    const young = sealCookie(SECRET, '{"n":1}', expiresIn(900));
    const old = sealCookie(SECRET, '{"n":1}', expiresIn(400));

    const unchanged = await requestInProcess(wrapped(config), { session: young });
    const renewed = await requestInProcess(wrapped(config), { session: old });

    expect(unchanged.setCookies).to.deep.equal([]);
    expect(renewed.setCookies).to.have.length(1);
    expect(renewed.setCookies[0]).to.include("Max-Age=1000");
  });

  it("re-issues a cookie under the first secret", async () => {
    const oldConfig = makeConfig({ secret: OTHER_SECRET });
    const rotated = makeConfig({ secret: [SECRET, OTHER_SECRET] });
    const [value] = oldConfig.backend.dumpData({ user: "u1" });

    const result = await requestInProcess(wrapped(rotated), { session: value }, (scope) => {
      expect(scope.session).to.deep.equal({ user: "u1" });
    });
    const reissued = parseSetCookie(result.setCookies[0]).value;

    expect(result.setCookies).to.have.length(1);
    expect(readAsLitestar(SECRET, [reissued])).to.deep.equal({ user: "u1" });
    expect(() => readAsLitestar(OTHER_SECRET, [reissued])).to.throw();
  });

  it("keeps a current cookie under rotation", async () => {
    const rotated = makeConfig({ secret: [SECRET, OTHER_SECRET] });
    const [value] = rotated.backend.dumpData({ user: "u1" });

    const result = await requestInProcess(wrapped(rotated), { session: value });

    expect(result.setCookies).to.deep.equal([]);
  });

  it("clears every chunk on clear", async () => {
    const config = makeConfig();
    const chunks = config.backend.dumpData(sessionForChunks(3));
    const cookies = Object.fromEntries(chunks.map((chunk, i) => [`session-${i}`, chunk]));

    const result = await requestInProcess(wrapped(config), cookies, (scope) => {
      scope.session = null;
    });

    expect(clearingCookieNames(result.setCookies)).to.deep.equal([
      "session-0",
      "session-1",
      "session-2",
    ]);
  });

  it("clears chunks a smaller session leaves", async () => {
    const config = makeConfig();
    const chunks = config.backend.dumpData(sessionForChunks(3));
    const cookies = Object.fromEntries(chunks.map((chunk, i) => [`session-${i}`, chunk]));

    const result = await requestInProcess(wrapped(config), cookies, (scope) => {
      scope.session = { small: true };
    });
    const jar = applySetCookies(cookies, result.setCookies);

    expect(Object.keys(jar)).to.deep.equal(["session"]);
    expect(config.backend.loadData([jar.session])).to.deep.equal({ small: true });
  });

  it("clears the single cookie on growth", async () => {
    const config = makeConfig();
    const [value] = config.backend.dumpData({ small: true });

    const result = await requestInProcess(wrapped(config), { session: value }, (scope) => {
      Object.assign(scope.session!, sessionForChunks(2));
    });
    const jar = applySetCookies({ session: value }, result.setCookies);

    expect(Object.keys(jar).sort()).to.deep.equal(["session-0", "session-1"]);
  });

  it("rejects a session over maxChunks", async () => {
    const logger = recordingLogger();
    const config = makeConfig({ maxChunks: 2, logger });
    const data = sessionForChunks(3);

    const attempt = requestInProcess(wrapped(config), {}, (scope) => {
      Object.assign(scope.session!, data);
    });

    const error = await attempt.then(
      () => expect.fail("the session was stored"),
      (reason: unknown) => reason,
    );
    const tooLarge = error as SessionTooLargeError;
    expect(tooLarge).to.be.instanceOf(SessionTooLargeError);
    expect(tooLarge.message).to.match(/is \d+ bytes and needs 3 cookies/);
    expect(tooLarge.message).to.match(/maxChunks \(2 cookies, \d+ bytes\)/);
    expect(tooLarge.message).not.to.include("xxxxxxxx");
    expect(tooLarge.chunks).to.equal(3);
    expect(tooLarge.maxChunks).to.equal(2);
    expect(tooLarge.size).to.be.greaterThan(tooLarge.limit!);
    expect(tooLarge.message).to.include(`${tooLarge.size} bytes`);
    expect(logger.entries).to.deep.equal([]);
  });

  it("marks renewal on the connection", async () => {
    const backend = makeConfig({ maxAge: 1000 }).backend;
    const connection = connectionWithCookies({
      session: sealCookie(SECRET, '{"n":1}', expiresIn(100)),
    });

    const session = await backend.loadFromConnection(connection);

    expect(session).to.deep.equal({ n: 1 });
    expect(getConnectionState(connection.scope).forceSessionWrite).to.equal(true);
  });

  it("has no session id", () => {
    expect(makeConfig().backend.getSessionId(connectionWithCookies({}))).to.equal(null);
  });
});

runSessionMiddlewareSuite("client-side", (overrides) =>
  makeConfig(overrides as Partial<CookieBackendOptions>),
);

function flipByte(value: string, index: number): string {
  const bytes = Buffer.from(value, "base64");
  bytes[index] ^= 0x01;
  return bytes.toString("base64");
}

function extendExpiry(value: string): string {
  const decoded = Buffer.from(value, "base64");
  const markerAt = decoded.indexOf(AAD_MARKER);
  return Buffer.concat([
    decoded.subarray(0, markerAt),
    Buffer.from(AAD_MARKER + expiresIn(10 * 365 * 24 * 3600)),
  ]).toString("base64");
}

/** Returns true when `value` or anything it references holds a byte array equal to `bytes`. */
function findBytes(value: unknown, bytes: Buffer, seen: Set<unknown>): boolean {
  if (value === null || typeof value !== "object" || seen.has(value)) return false;
  seen.add(value);

  if (value instanceof Uint8Array) return Buffer.from(value).includes(bytes);

  return Reflect.ownKeys(value).some((key) =>
    findBytes((value as Record<PropertyKey, unknown>)[key], bytes, seen),
  );
}
