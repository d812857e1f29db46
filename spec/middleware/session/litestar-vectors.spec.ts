import { expect } from "chai";

import { silentLogger } from "../../../lib/logger";
import {
  AAD_MARKER,
  CHUNK_SIZE,
  ClientSideSessionBackend,
  CookieBackendConfig,
  NONCE_SIZE,
} from "../../../lib/middleware/session/client-side";
import { serve } from "../../../lib/server";
import type { ASGIApp } from "../../../lib/types/asgi";
import {
  applySetCookies,
  cookieHeader,
  loadVectorFile,
  parseSetCookie,
  readAsLitestar,
  requestInProcess,
  unquote,
  type LitestarVector,
} from "./helpers";

const { constants, vectors } = loadVectorFile();

/** True when `text` is exactly what `JSON.stringify` writes for the data it holds. */
function isOurJson(text: string): boolean {
  return JSON.stringify(JSON.parse(text)) === text;
}

/** A config matching the vector; reading needs no options beyond Litestar's. */
function configFor(vector: LitestarVector, maxChunks?: number): CookieBackendConfig {
  const attributes = vector.cookie_attrs;

  return new CookieBackendConfig({
    secret: Buffer.from(vector.secret_hex, "hex"),
    key: vector.key,
    maxAge: vector.max_age,
    path: attributes.path,
    domain: attributes.domain,
    secure: attributes.secure,
    httpOnly: attributes.httponly,
    sameSite: attributes.samesite,
    maxChunks,
    logger: silentLogger,
  });
}

/**
 * Runs `action` with `Date.now` pinned to `seconds` and the backend's next nonce set to
 * `nonce`, so its output can be compared byte for byte with Litestar's.
 */
async function withPinnedWrite<T>(
  backend: ClientSideSessionBackend,
  seconds: number,
  nonce: Buffer,
  action: () => Promise<T>,
): Promise<T> {
  // The nonce pool is private; a test reaches into it so only this one write is predictable.
  const internals = backend as unknown as { noncePool: Buffer; nonceOffset: number };
  nonce.copy(internals.noncePool, 0);
  internals.nonceOffset = 0;

  const realNow = Date.now;
  Date.now = () => seconds * 1000;

  try {
    return await action();
  } finally {
    Date.now = realNow;
  }
}

describe("Litestar vectors", () => {
  it("share Litestar's constants", () => {
    expect(constants.NONCE_SIZE).to.equal(NONCE_SIZE);
    expect(constants.CHUNK_SIZE).to.equal(CHUNK_SIZE);
    expect(constants.AAD).to.equal(AAD_MARKER);
    expect(vectors).to.have.length(38);
  });

  describe("loadData", () => {
    for (const vector of vectors) {
      it(`reads ${vector.id}`, () => {
        const backend = configFor(vector).backend;
        expect(backend.loadData(vector.chunks)).to.deep.equal(vector.expected_session);
      });
    }
  });

  describe("middleware", () => {
    for (const vector of vectors) {
      it(`loads ${vector.id}`, async () => {
        const config = configFor(vector, 16);
        const result = await requestInProcess(config.middleware, vector.request_cookies);
        const expectsData = Object.keys(vector.expected_session).length > 0;

        expect(result.session).to.deep.equal(vector.expected_session);
        if (!expectsData) {
          expect(result.setCookies).to.have.length(Object.keys(vector.request_cookies).length);
          return;
        }

        // Unchanged data is compared as JSON text: Litestar's text in our form is not
        // rewritten, and other text (such as 1.0 for 1) is rewritten once, then left alone.
        if (isOurJson(vector.plaintext_json)) {
          expect(result.setCookies).to.deep.equal([]);
          return;
        }

        expect(result.setCookies).to.not.deep.equal([]);
        const rewritten = applySetCookies(vector.request_cookies, result.setCookies);
        const again = await requestInProcess(config.middleware, rewritten);
        expect(again.session).to.deep.equal(JSON.parse(JSON.stringify(vector.expected_session)));
        expect(again.setCookies).to.deep.equal([]);
      });
    }

    it("covers both JSON forms", () => {
      const loaded = vectors.filter((vector) => Object.keys(vector.expected_session).length > 0);
      const ours = loaded.filter((vector) => isOurJson(vector.plaintext_json));

      expect(ours.length).to.be.above(0);
      expect(loaded.length - ours.length).to.be.above(0);
    });
  });

  describe("over HTTP", () => {
    for (const vector of vectors) {
      it(`serves ${vector.id}`, async () => {
        const config = configFor(vector);
        const app: ASGIApp = async (scope, _receive, send) => {
          if (scope.type !== "http") return;

          await send({ type: "http.response.start", status: 200, headers: [] });
          await send({
            type: "http.response.body",
            body: Buffer.from(JSON.stringify(scope.session)),
          });
        };
        const server = await serve(config.middleware.wrap(app), {
          host: "127.0.0.1",
          port: 0,
          logger: silentLogger,
        });

        try {
          const response = await fetch(`http://127.0.0.1:${server.port}/`, {
            headers: { cookie: cookieHeader(vector.request_cookies) },
            signal: AbortSignal.timeout(5000),
          });

          expect(response.status).to.equal(200);
          // JSON.stringify writes -0 as 0, so compare with what JSON can carry.
          expect(await response.json()).to.deep.equal(
            JSON.parse(JSON.stringify(vector.expected_session)),
          );
        } finally {
          await server.close();
        }
      });
    }
  });

  describe("Set-Cookie layout", () => {
    const comparable = vectors.filter(
      (vector) =>
        vector.set_cookie.length > 0 && JSON.stringify(vector.payload) === vector.plaintext_json,
    );

    it("covers most vectors", () => {
      expect(comparable.length).to.be.at.least(20);
    });

    for (const vector of comparable) {
      it(`matches ${vector.id}`, async () => {
        // Writing Litestar's largest sessions needs more than the default three chunks.
        const config = configFor(vector, 16);
        const nonce = Buffer.from(vector.nonce_hex, "hex");

        const result = await withPinnedWrite(config.backend, vector.issued_at, nonce, () =>
          requestInProcess(config.middleware, {}, (scope) => {
            Object.assign(scope.session!, vector.payload);
          }),
        );
        const ours = result.setCookies.map(parseSetCookie);
        const theirs = vector.set_cookie.map(parseSetCookie);

        expect(ours.map((cookie) => cookie.name)).to.deep.equal(theirs.map((c) => c.name));
        expect(ours.map((cookie) => cookie.value)).to.deep.equal(
          theirs.map((cookie) => unquote(cookie.value)),
        );
        expect(ours.map((cookie) => cookie.attributes)).to.deep.equal(
          theirs.map((cookie) => cookie.attributes),
        );
      });
    }
  });

  describe("Litestar reader", () => {
    for (const vector of vectors.filter((item) => item.kind === "fresh")) {
      it(`reads our ${vector.id}`, () => {
        const backend = configFor(vector).backend;
        const chunks = backend.dumpData(vector.payload);

        // JSON.stringify writes -0 as 0, so compare with what JSON can carry.
        const expected = JSON.parse(JSON.stringify(vector.expected_session));

        expect(readAsLitestar(Buffer.from(vector.secret_hex, "hex"), chunks)).to.deep.equal(
          expected,
        );
      });
    }

    it("follows Litestar on its vectors", () => {
      for (const vector of vectors) {
        const secret = Buffer.from(vector.secret_hex, "hex");
        expect(readAsLitestar(secret, vector.chunks)).to.deep.equal(vector.expected_session);
      }
    });
  });
});
