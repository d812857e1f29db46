import { expect } from "chai";

import { App } from "../../lib/app/app";
import { del, get, post } from "../../lib/app/handlers";
import { Redirect, Response } from "../../lib/app/response";
import { Cookie } from "../../lib/datastructures/cookie";
import { ImproperlyConfiguredException } from "../../lib/exceptions";
import { silentLogger } from "../../lib/logger";
import type { ResponseLike } from "../../lib/app/response";
import { callHTTP } from "./fixtures";

function appReturning(value: () => ResponseLike, options = {}): App {
  return new App({ routeHandlers: [get("/", value, options)], logger: silentLogger });
}

describe("Response", () => {
  describe("from handler values", () => {
    const cases: { name: string; value: ResponseLike; type: string | undefined; body: string }[] = [
      { name: "string as text", value: "hé", type: "text/plain; charset=utf-8", body: "hé" },
      { name: "object as JSON", value: { a: 1 }, type: "application/json", body: '{"a":1}' },
      { name: "array as JSON", value: [1, "x"], type: "application/json", body: '[1,"x"]' },
      { name: "number as JSON", value: 3, type: "application/json", body: "3" },
      { name: "false as JSON", value: false, type: "application/json", body: "false" },
      {
        name: "bytes as octets",
        value: Buffer.from([1, 2]),
        type: "application/octet-stream",
        body: "\u0001\u0002",
      },
      { name: "null as empty", value: null, type: undefined, body: "" },
      { name: "undefined as empty", value: undefined, type: undefined, body: "" },
    ];

    for (const { name, value, type, body } of cases) {
      it(name, async () => {
        const response = await callHTTP(appReturning(() => value).asgi, "/");

        expect(response.status).to.equal(200);
        expect(response.header("content-type")).to.equal(type);
        expect(response.text).to.equal(body);
        expect(response.header("content-length")).to.equal(String(Buffer.byteLength(body)));
      });
    }
  });

  it("uses handler statusCode and mediaType", async () => {
    const app = appReturning(() => "<p>x</p>", { statusCode: 202, mediaType: "text/html" });
    const response = await callHTTP(app.asgi, "/");

    expect(response.status).to.equal(202);
    expect(response.header("content-type")).to.equal("text/html; charset=utf-8");
  });

  it("sends status, headers and cookies", async () => {
    const app = appReturning(
      () =>
        new Response(
          { ok: true },
          {
            status: 418,
            headers: { "X-Custom": "1" },
            cookies: [
              new Cookie({ key: "a", value: "1" }),
              { key: "b", value: "2", httpOnly: true },
            ],
          },
        ),
    );
    const response = await callHTTP(app.asgi, "/");

    expect(response.status).to.equal(418);
    expect(response.header("x-custom")).to.equal("1");
    expect(response.headers.filter(([name]) => name === "set-cookie")).to.deep.equal([
      ["set-cookie", "a=1; Path=/; SameSite=Lax"],
      ["set-cookie", "b=2; Path=/; HttpOnly; SameSite=Lax"],
    ]);
  });

  it("Response.json encodes strings", async () => {
    const response = await callHTTP(appReturning(() => Response.json("hi")).asgi, "/");

    expect(response.text).to.equal('"hi"');
    expect(response.header("content-type")).to.equal("application/json");
  });

  it("Response.text sets text type", async () => {
    const response = await callHTTP(appReturning(() => Response.text("plain")).asgi, "/");

    expect(response.header("content-type")).to.equal("text/plain; charset=utf-8");
  });

  it("keeps explicit content-type header", async () => {
    const response = await callHTTP(
      appReturning(() => new Response("x", { headers: [["content-type", "text/csv"]] })).asgi,
      "/",
    );

    expect(response.headers.filter(([name]) => name === "content-type")).to.deep.equal([
      ["content-type", "text/csv"],
    ]);
  });

  it("setCookie replaces same cookie", () => {
    const response = new Response(null)
      .setCookie({ key: "a", value: "1" })
      .setCookie({ key: "a", value: "2" })
      .setCookie({ key: "a", value: "3", path: "/x" });

    expect(response.cookies.map((cookie) => cookie.toHeaderValue())).to.deep.equal([
      "a=2; Path=/; SameSite=Lax",
      "a=3; Path=/x; SameSite=Lax",
    ]);
  });

  it("deleteCookie expires the cookie", () => {
    const response = new Response(null).deleteCookie("a");

    expect(response.cookies[0].toHeaderValue()).to.equal(
      "a=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; SameSite=Lax",
    );
  });

  it("rejects invalid status", () => {
    expect(() => new Response(null, { status: 600 })).to.throw(TypeError, /600/);
  });

  it("rejects invalid header value", () => {
    expect(() => new Response(null, { headers: { x: "a\nb" } })).to.throw(TypeError);
  });

  it("sends 500 for content on 204", async () => {
    const app = new App({ routeHandlers: [del("/", () => ({ a: 1 }))], logger: silentLogger });
    const response = await callHTTP(app.asgi, "/", { method: "DELETE" });

    expect(response.status).to.equal(500);
  });

  it("omits content-length on 204", async () => {
    const app = new App({ routeHandlers: [del("/", () => null)], logger: silentLogger });
    const response = await callHTTP(app.asgi, "/", { method: "DELETE" });

    expect(response.status).to.equal(204);
    expect(response.header("content-length")).to.equal(undefined);
  });

  it("sends 201 for POST content", async () => {
    const app = new App({ routeHandlers: [post("/", () => ({ id: 1 }))], logger: silentLogger });

    expect((await callHTTP(app.asgi, "/", { method: "POST" })).status).to.equal(201);
  });

  it("keeps a Response status on POST", async () => {
    const app = new App({
      routeHandlers: [post("/", () => new Response("ok"))],
      logger: silentLogger,
    });

    expect((await callHTTP(app.asgi, "/", { method: "POST" })).status).to.equal(200);
  });
});

describe("Redirect", () => {
  it("sends 302 with location", async () => {
    const response = await callHTTP(appReturning(() => new Redirect("/next?a=1")).asgi, "/");

    expect(response.status).to.equal(302);
    expect(response.header("location")).to.equal("/next?a=1");
    expect(response.body.byteLength).to.equal(0);
    expect(response.header("content-type")).to.equal(undefined);
  });

  it("accepts each redirect status", () => {
    for (const status of [301, 302, 303, 307, 308]) {
      expect(new Redirect("/", { status }).status).to.equal(status);
    }
  });

  it("rejects non-redirect status", () => {
    expect(() => new Redirect("/", { status: 200 })).to.throw(ImproperlyConfiguredException, /200/);
  });

  it("percent-encodes unsafe characters", () => {
    const redirect = new Redirect("/café here\r\nx: y");

    expect(redirect.location).to.equal("/caf%C3%A9%20here%0D%0Ax:%20y");
  });

  it("keeps cookies", () => {
    const redirect = new Redirect("/", { cookies: [{ key: "a", value: "1" }] });

    expect(redirect.cookies).to.have.length(1);
  });
});
