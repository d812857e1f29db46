import { expect } from "chai";

import type { HTTPScope, Receive, Scope, Send } from "../../lib/types/asgi";
import { rawRequest } from "../helpers/raw-http";
import { closeServers, startServer } from "../helpers/server-harness";

/** Starts a server that records each HTTP scope and responds 200 "ok". */
async function recordScopes(rootPath = ""): Promise<{ port: number; scopes: HTTPScope[] }> {
  const scopes: HTTPScope[] = [];
  const app = async (scope: Scope, _receive: Receive, send: Send): Promise<void> => {
    if (scope.type !== "http") return;

    scopes.push({ ...scope });
    await send({ type: "http.response.start", status: 200, headers: [] });
    await send({ type: "http.response.body", body: Buffer.from("ok") });
  };
  const { port } = await startServer(app, { rootPath });

  return { port, scopes };
}

describe("HTTP scope", () => {
  afterEach(closeServers);

  it("describes a GET request", async () => {
    const { port, scopes } = await recordScopes();

    const response = await fetch(`http://127.0.0.1:${port}/items?page=2`);
    await response.text();

    const [scope] = scopes;
    expect(scope.type).to.equal("http");
    expect(scope.asgi).to.deep.equal({ version: "3.0", spec_version: "2.5" });
    expect(scope.http_version).to.equal("1.1");
    expect(scope.method).to.equal("GET");
    expect(scope.scheme).to.equal("http");
    expect(scope.path).to.equal("/items");
    expect(scope.raw_path).to.equal("/items");
    expect(scope.query_string).to.equal("page=2");
    expect(scope.root_path).to.equal("");
    expect(scope.server).to.deep.equal(["127.0.0.1", port]);
    expect(scope.client).to.deep.equal(["127.0.0.1", null]);
    expect(scope.state).to.deep.equal({});
    expect(scope.extensions).to.equal(undefined);
  });

  it("percent-decodes path, not raw_path", async () => {
    const { port, scopes } = await recordScopes();

    await rawRequest(port, "GET /caf%C3%A9/a%20b%2Fc/%zz?x=%41 HTTP/1.1\r\nHost: a\r\n\r\n");

    expect(scopes[0].path).to.equal("/café/a b/c/%zz");
    expect(scopes[0].raw_path).to.equal("/caf%C3%A9/a%20b%2Fc/%zz");
    expect(scopes[0].query_string).to.equal("x=%41");
  });

  it("keeps raw UTF-8 path bytes", async () => {
    const { port, scopes } = await recordScopes();

    await rawRequest(port, "GET /\xc3\xa9t\xc3\xa9?q=\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n");

    expect(scopes[0].path).to.equal("/été");
    expect(scopes[0].raw_path).to.equal("/\xc3\xa9t\xc3\xa9");
    expect(scopes[0].query_string).to.equal("q=\xc3\xa9");
  });

  it("gives empty query after bare ?", async () => {
    const { port, scopes } = await recordScopes();

    await rawRequest(port, "GET /a? HTTP/1.1\r\nHost: a\r\n\r\n");

    expect(scopes[0].path).to.equal("/a");
    expect(scopes[0].query_string).to.equal("");
  });

  it("keeps header order and duplicates", async () => {
    const { port, scopes } = await recordScopes();

    await rawRequest(
      port,
      "GET / HTTP/1.1\r\nHost: a\r\nX-Trace: one\r\nAccept: */*\r\nX-TRACE: two\r\n" +
        "Cookie: a=1\r\nCookie: b=2\r\n\r\n",
    );

    expect(scopes[0].headers).to.deep.equal([
      ["host", "a"],
      ["x-trace", "one"],
      ["accept", "*/*"],
      ["x-trace", "two"],
      ["cookie", "a=1"],
      ["cookie", "b=2"],
    ]);
  });

  it("keeps raw latin-1 header bytes", async () => {
    const { port, scopes } = await recordScopes();

    await rawRequest(
      port,
      "GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\xe9 au lait\r\nX-Utf8: t\xc3\xa9t\xc3\xa9 ok\r\n" +
        "X-Name: d\xc3\xa9j\xc3\xa0 vu\r\n\r\n",
    );

    expect(scopes[0].headers).to.deep.equal([
      ["host", "a"],
      ["x-name", "caf\xe9 au lait"],
      ["x-utf8", "t\xc3\xa9t\xc3\xa9 ok"],
      ["x-name", "d\xc3\xa9j\xc3\xa0 vu"],
    ]);
  });

  it("replaces invalid UTF-8 in a repeated header", async () => {
    const { port, scopes } = await recordScopes();

    await rawRequest(port, "GET / HTTP/1.1\r\nHost: a\r\nX-A: one\r\nX-A: b\xffc\r\n\r\n");

    // uWS hands out later occurrences only as decoded UTF-8, so the invalid byte is lost.
    expect(scopes[0].headers[2]).to.deep.equal(["x-a", "b\xef\xbf\xbdc"]);
  });

  it("passes standard methods", async () => {
    const { port, scopes } = await recordScopes();

    for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
      await rawRequest(port, `${method} / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n`);
    }

    expect(scopes.map((scope) => scope.method)).to.deep.equal([
      "POST",
      "PUT",
      "DELETE",
      "PATCH",
      "OPTIONS",
    ]);
  });

  it("drops high bytes at value ends", async () => {
    const { port, scopes } = await recordScopes();

    await rawRequest(port, "GET / HTTP/1.1\r\nHost: a\r\nX-A: \xe9t\xe9\r\n\r\n");

    // The uWS parser trims bytes of 0x80 and above from both ends of a value.
    expect(scopes[0].headers[1]).to.deep.equal(["x-a", "t"]);
  });

  it("prefixes paths with rootPath", async () => {
    const { port, scopes } = await recordScopes("/api");

    await rawRequest(port, "GET /users/%7Eme HTTP/1.1\r\nHost: a\r\n\r\n");

    expect(scopes[0].root_path).to.equal("/api");
    expect(scopes[0].path).to.equal("/api/users/~me");
    expect(scopes[0].raw_path).to.equal("/api/users/%7Eme");
  });

  it("gives each request its own scope", async () => {
    const seen: HTTPScope[] = [];
    const app = async (scope: Scope, _receive: Receive, send: Send): Promise<void> => {
      if (scope.type !== "http") return;

      seen.push(scope);
      scope.state.touched = true;
      await send({ type: "http.response.start", status: 204 });
      await send({ type: "http.response.body" });
    };
    const { port } = await startServer(app);

    await rawRequest(port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    await rawRequest(port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");

    expect(seen[0]).not.to.equal(seen[1]);
    expect(seen[0].state).not.to.equal(seen[1].state);
    expect(seen[0].headers).not.to.equal(seen[1].headers);
  });

  describe("client", () => {
    it("can be assigned", async () => {
      let assigned: unknown;
      const app = async (scope: Scope, _receive: Receive, send: Send): Promise<void> => {
        if (scope.type !== "http") return;

        scope.client = ["203.0.113.7", 4242];
        assigned = scope.client;
        await send({ type: "http.response.start", status: 204 });
        await send({ type: "http.response.body" });
      };
      const { port } = await startServer(app);

      await rawRequest(port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");

      expect(assigned).to.deep.equal(["203.0.113.7", 4242]);
    });

    it("appears in keys and JSON", async () => {
      let keys: string[] = [];
      let json: Record<string, unknown> = {};
      const app = async (scope: Scope, _receive: Receive, send: Send): Promise<void> => {
        if (scope.type !== "http") return;

        keys = Object.keys(scope);
        json = JSON.parse(JSON.stringify(scope));
        await send({ type: "http.response.start", status: 204 });
        await send({ type: "http.response.body" });
      };
      const { port } = await startServer(app);

      await rawRequest(port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");

      expect(keys).to.include("client");
      expect(json.client).to.deep.equal(["127.0.0.1", null]);
    });

    it("reads null after the response", async () => {
      let late: HTTPScope | null = null;
      const app = async (scope: Scope, _receive: Receive, send: Send): Promise<void> => {
        if (scope.type !== "http") return;

        await send({ type: "http.response.start", status: 204 });
        await send({ type: "http.response.body" });
        late = scope;
      };
      const { port } = await startServer(app);

      await rawRequest(port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");

      // uWS reports the address only while the response is open.
      expect(late!.client).to.equal(null);
    });
  });
});
