import { expect } from "chai";

import { App } from "../../lib/app/app";
import { del, get, patch, post, put, route, websocket } from "../../lib/app/handlers";
import { ImproperlyConfiguredException } from "../../lib/exceptions";
import { silentLogger } from "../../lib/logger";
import type { HTTPScope } from "../../lib/types/asgi";
import { callHTTP } from "./fixtures";

describe("App routing", () => {
  it("routes a static path", async () => {
    const app = new App({ routeHandlers: [get("/hello", () => "world")], logger: silentLogger });
    const response = await callHTTP(app.asgi, "/hello");

    expect(response.status).to.equal(200);
    expect(response.text).to.equal("world");
  });

  it("ignores a trailing slash", async () => {
    const app = new App({ routeHandlers: [get("/hello/", () => "x")], logger: silentLogger });

    expect((await callHTTP(app.asgi, "/hello")).status).to.equal(200);
    expect((await callHTTP(app.asgi, "/hello/")).status).to.equal(200);
    expect((await callHTTP(app.asgi, "//hello")).status).to.equal(200);
  });

  it("converts typed path params", async () => {
    const app = new App({
      routeHandlers: [
        get("/users/{id:int}", (request) => ({ params: request.pathParams })),
        get("/files/{rest:path}", (request) => ({ params: request.pathParams })),
      ],
      logger: silentLogger,
    });

    expect((await callHTTP(app.asgi, "/users/12")).json()).to.deep.equal({ params: { id: 12 } });
    expect((await callHTTP(app.asgi, "/files/a/b")).json()).to.deep.equal({
      params: { rest: "/a/b" },
    });
  });

  it("returns 404 for failed conversion", async () => {
    const app = new App({
      routeHandlers: [get("/users/{id:int}", () => "x")],
      logger: silentLogger,
    });
    const response = await callHTTP(app.asgi, "/users/abc");

    expect(response.status).to.equal(404);
    expect(response.json()).to.deep.equal({ status_code: 404, detail: "Not Found" });
    expect(response.header("content-type")).to.equal("application/json");
  });

  it("returns 404 for unknown path", async () => {
    const app = new App({ routeHandlers: [get("/", () => "x")], logger: silentLogger });

    expect((await callHTTP(app.asgi, "/missing")).status).to.equal(404);
  });

  it("prefers literal over parameter", async () => {
    const app = new App({
      routeHandlers: [
        get("/users/{name:str}", () => "param"),
        get("/users/me", () => "literal"),
        get("/users/{id:int}", () => "int"),
      ],
      logger: silentLogger,
    });

    expect((await callHTTP(app.asgi, "/users/me")).text).to.equal("literal");
    expect((await callHTTP(app.asgi, "/users/7")).text).to.equal("int");
    expect((await callHTTP(app.asgi, "/users/bob")).text).to.equal("param");
  });

  it("tries path params last", async () => {
    const app = new App({
      routeHandlers: [
        get("/static/{p:path}", () => "path"),
        get("/static/{name:str}", () => "str"),
      ],
      logger: silentLogger,
    });

    expect((await callHTTP(app.asgi, "/static/a")).text).to.equal("str");
    expect((await callHTTP(app.asgi, "/static/a/b")).text).to.equal("path");
  });

  it("tries parameter-first routes last", async () => {
    const app = new App({
      routeHandlers: [
        get("/{lang:str}/about", (request) => `about ${String(request.pathParams.lang)}`),
        get("/users/{id:int}", () => "user"),
      ],
      logger: silentLogger,
    });

    expect((await callHTTP(app.asgi, "/en/about")).text).to.equal("about en");
    expect((await callHTTP(app.asgi, "/users/about")).text).to.equal("about users");
    expect((await callHTTP(app.asgi, "/users/1")).text).to.equal("user");
    expect((await callHTTP(app.asgi, "/users/x")).status).to.equal(404);
  });

  it("returns 405 with allow header", async () => {
    const app = new App({
      routeHandlers: [get("/items", () => "x"), post("/items", () => "y")],
      logger: silentLogger,
    });
    const response = await callHTTP(app.asgi, "/items", { method: "PUT" });

    expect(response.status).to.equal(405);
    expect(response.header("allow")).to.equal("GET, HEAD, OPTIONS, POST");
    expect(response.json()).to.deep.equal({ status_code: 405, detail: "Method Not Allowed" });
  });

  it("finds a method on another template", async () => {
    const app = new App({
      routeHandlers: [
        get("/items/{id:int}", (request) => `get ${String(request.pathParams.id)}`),
        del("/items/{itemId:int}", () => null),
      ],
      logger: silentLogger,
    });

    expect((await callHTTP(app.asgi, "/items/3", { method: "DELETE" })).status).to.equal(204);
    expect((await callHTTP(app.asgi, "/items/3")).text).to.equal("get 3");
  });

  it("answers HEAD from GET", async () => {
    const app = new App({ routeHandlers: [get("/h", () => "hello")], logger: silentLogger });
    const response = await callHTTP(app.asgi, "/h", { method: "HEAD" });

    expect(response.status).to.equal(200);
    expect(response.header("content-length")).to.equal("5");
    expect(response.body.byteLength).to.equal(0);
  });

  it("answers OPTIONS with 204", async () => {
    const app = new App({ routeHandlers: [put("/p", () => "x")], logger: silentLogger });
    const response = await callHTTP(app.asgi, "/p", { method: "OPTIONS" });

    expect(response.status).to.equal(204);
    expect(response.header("allow")).to.equal("OPTIONS, PUT");
  });

  it("routes each method helper", async () => {
    const app = new App({
      routeHandlers: [
        get("/m", () => "GET"),
        post("/m", () => "POST"),
        put("/m", () => "PUT"),
        patch("/m", () => "PATCH"),
        del("/m", () => null),
        route(["GET", "POST"], "/multi", (request) => request.method),
      ],
      logger: silentLogger,
    });

    expect((await callHTTP(app.asgi, "/m", { method: "GET" })).status).to.equal(200);
    expect((await callHTTP(app.asgi, "/m", { method: "POST" })).status).to.equal(201);
    expect((await callHTTP(app.asgi, "/m", { method: "PUT" })).text).to.equal("PUT");
    expect((await callHTTP(app.asgi, "/m", { method: "PATCH" })).text).to.equal("PATCH");
    expect((await callHTTP(app.asgi, "/m", { method: "DELETE" })).status).to.equal(204);
    expect((await callHTTP(app.asgi, "/multi", { method: "POST" })).text).to.equal("POST");
  });

  it("strips the root path", async () => {
    const app = new App({ routeHandlers: [get("/items", () => "x")], logger: silentLogger });

    expect((await callHTTP(app.asgi, "/api/items", { rootPath: "/api" })).status).to.equal(200);
  });

  it("sets route handler, params and app", async () => {
    let seen: HTTPScope | undefined;
    const handler = get(
      "/u/{id:int}",
      (request) => {
        seen = request.scope;
        return null;
      },
      { name: "user", opt: { flag: true } },
    );
    const app = new App({ routeHandlers: [handler], logger: silentLogger });
    await callHTTP(app.asgi, "/u/5");

    expect(seen?.route_handler).to.equal(handler);
    expect(seen?.route_handler).to.include({ path: "/u/{id:int}", name: "user", type: "http" });
    expect(seen?.route_handler?.opt).to.deep.equal({ flag: true });
    expect(seen?.path_params).to.deep.equal({ id: 5 });
    expect(seen?.app).to.equal(app);
  });

  describe("rejects invalid configuration", () => {
    it("duplicate method and path", () => {
      expect(
        () =>
          new App({
            routeHandlers: [get("/a", () => "1"), get("/a/", () => "2")],
            logger: silentLogger,
          }),
      ).to.throw(ImproperlyConfiguredException, /GET \/a/);
    });

    it("duplicate websocket path", () => {
      const handler = async () => undefined;
      expect(
        () =>
          new App({
            routeHandlers: [websocket("/ws", handler), websocket("/ws", handler)],
            logger: silentLogger,
          }),
      ).to.throw(ImproperlyConfiguredException, /websocket \/ws/);
    });

    it("non-handler entry", () => {
      expect(
        () => new App({ routeHandlers: [(() => "x") as never], logger: silentLogger }),
      ).to.throw(ImproperlyConfiguredException, /routeHandlers\[0\]/);
    });

    it("missing routeHandlers", () => {
      expect(() => new App({} as never)).to.throw(ImproperlyConfiguredException, /routeHandlers/);
    });

    it("unknown method", () => {
      expect(() => route(["FETCH"], "/", () => "x")).to.throw(
        ImproperlyConfiguredException,
        /FETCH/,
      );
    });

    it("invalid statusCode", () => {
      expect(() => get("/", () => "x", { statusCode: 99 })).to.throw(
        ImproperlyConfiguredException,
        /statusCode/,
      );
    });

    it("non-function handler", () => {
      expect(() => get("/", "x" as never)).to.throw(ImproperlyConfiguredException, /function/);
    });

    it("invalid opt", () => {
      expect(() => get("/", () => "x", { opt: [] as never })).to.throw(
        ImproperlyConfiguredException,
        /opt/,
      );
    });
  });

  it("freezes handler options", () => {
    const opt = { a: 1 };
    const handler = get("/", () => "x", { opt });
    opt.a = 2;

    expect(handler.opt).to.deep.equal({ a: 1 });
    expect(Object.isFrozen(handler.opt)).to.equal(true);
  });
});
