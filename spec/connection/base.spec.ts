import { expect } from "chai";

import { ASGIConnection } from "../../lib/connection/base";
import { getConnectionState } from "../../lib/connection/state";
import { ImproperlyConfiguredException } from "../../lib/exceptions";
import { httpScope, websocketScope } from "../app/fixtures";

describe("ASGIConnection", () => {
  describe("session", () => {
    it("throws without session middleware", () => {
      const connection = new ASGIConnection(httpScope("/"));

      expect(() => connection.session)
        .to.throw(ImproperlyConfiguredException)
        .with.property("message")
        .that.contains("session middleware");
    });

    it("returns the scope session", () => {
      const scope = httpScope("/");
      scope.session = { user: 1 };

      expect(new ASGIConnection(scope).session).to.equal(scope.session);
    });

    it("starts empty after clearSession", () => {
      const scope = httpScope("/");
      scope.session = { user: 1 };
      const connection = new ASGIConnection(scope);
      connection.clearSession();

      expect(scope.session).to.equal(null);
      expect(connection.session).to.deep.equal({});
      expect(scope.session).to.deep.equal({});
    });

    it("setSession replaces the data", () => {
      const scope = httpScope("/");
      scope.session = { a: 1 };
      new ASGIConnection(scope).setSession({ b: 2 });

      expect(scope.session).to.deep.equal({ b: 2 });
    });

    it("reads and clears the session id", () => {
      const scope = httpScope("/");
      scope.session = {};
      getConnectionState(scope).sessionId = "abc";
      const connection = new ASGIConnection(scope);

      expect(connection.getSessionId()).to.equal("abc");
      connection.clearSession();
      expect(connection.getSessionId()).to.equal(null);
    });

    it("regenerateSession sets the flag", () => {
      const scope = httpScope("/");
      new ASGIConnection(scope).regenerateSession();

      expect(getConnectionState(scope).regenerateSession).to.equal(true);
    });

    it("shares state across scope copies", () => {
      const scope = httpScope("/");
      new ASGIConnection(scope).regenerateSession();

      expect(getConnectionState({ ...scope }).regenerateSession).to.equal(true);
    });
  });

  describe("url", () => {
    it("builds from host header", () => {
      const connection = new ASGIConnection(httpScope("/a/b?x=1"));

      expect(connection.url.href).to.equal("http://testserver/a/b?x=1");
    });

    it("prefixes the root path", () => {
      const scope = httpScope("/items", { rootPath: "/api" });

      expect(new ASGIConnection(scope).url.pathname).to.equal("/api/items");
    });

    it("keeps path that includes root path", () => {
      const scope = httpScope("/api/items", { rootPath: "/api" });

      expect(new ASGIConnection(scope).url.pathname).to.equal("/api/items");
    });

    it("falls back to server address", () => {
      const connection = new ASGIConnection(httpScope("/", { headers: [] }));

      expect(connection.url.host).to.equal("127.0.0.1:8000");
    });

    it("ignores a host that rewrites the URL", () => {
      const headers: [string, string][] = [["host", "evil.example/@x"]];
      const connection = new ASGIConnection(httpScope("/p", { headers }));

      expect(connection.url.host).to.equal("127.0.0.1:8000");
      expect(connection.url.pathname).to.equal("/p");
    });

    describe("host header table", () => {
      const cases: Array<[string, string]> = [
        ["example.com", "example.com"],
        ["example.com:8080", "example.com:8080"],
        ["a:65535", "a:65535"],
        ["[::1]:8000", "[::1]:8000"],
        ["a:99999", "127.0.0.1:8000"],
        ["[::::]", "127.0.0.1:8000"],
        ["[1.2.3.4]", "127.0.0.1:8000"],
        ["a%zz", "127.0.0.1:8000"],
        ["a%00b", "127.0.0.1:8000"],
        ["xn--", "127.0.0.1:8000"],
        ["exa mple", "127.0.0.1:8000"],
      ];

      for (const [host, expected] of cases) {
        it(`uses ${expected} for ${JSON.stringify(host)}`, () => {
          const headers: [string, string][] = [["host", host]];
          const connection = new ASGIConnection(httpScope("/p?q=1", { headers }));

          expect(connection.url.host).to.equal(expected);
          expect(connection.url.pathname).to.equal("/p");
          expect(connection.url.search).to.equal("?q=1");
        });
      }
    });

    it("falls back to localhost", () => {
      const scope = httpScope("/p", { headers: [["host", "a:99999"]] });
      scope.server = null;

      expect(new ASGIConnection(scope).url.host).to.equal("localhost");
    });

    it("falls back past a bad server", () => {
      const scope = httpScope("/p", { headers: [] });
      scope.server = ["bad host", 99999];

      expect(new ASGIConnection(scope).url.host).to.equal("localhost");
    });

    it("encodes question mark in decoded path", () => {
      const scope = httpScope("/");
      scope.path = "/a?b";
      scope.raw_path = "";

      expect(new ASGIConnection(scope).url.pathname).to.equal("/a%3Fb");
    });

    it("keeps raw percent escapes", () => {
      const connection = new ASGIConnection(httpScope("/a%2Fb"));

      expect(connection.url.pathname).to.equal("/a%2Fb");
    });

    it("uses websocket scheme", () => {
      expect(new ASGIConnection(websocketScope("/ws")).url.protocol).to.equal("ws:");
    });
  });

  describe("queryParams", () => {
    it("decodes UTF-8 and keeps duplicates", () => {
      const raw = Buffer.from("q=café&q=%C3%A9t%C3%A9&n=1", "utf8").toString("latin1");
      const scope = httpScope("/");
      scope.query_string = raw;
      const params = new ASGIConnection(scope).queryParams;

      expect(params.getAll("q")).to.deep.equal(["café", "été"]);
      expect(params.get("n")).to.equal("1");
    });
  });

  it("exposes scope fields", () => {
    const scope = httpScope("/");
    scope.path_params = { id: 1 };
    scope.route_handler = { opt: { a: 1 }, path: "/" };
    scope.app = "the-app";
    scope.state.counter = 1;
    const connection = new ASGIConnection(scope);

    expect(connection.pathParams).to.deep.equal({ id: 1 });
    expect(connection.routeHandler).to.equal(scope.route_handler);
    expect(connection.app).to.equal("the-app");
    expect(connection.state).to.deep.equal({ counter: 1 });
    expect(connection.client).to.deep.equal(["127.0.0.1", 50000]);
    expect(connection.headers.get("host")).to.equal("testserver");
  });
});
