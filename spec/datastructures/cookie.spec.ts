import { expect } from "chai";

import { Cookie, type CookieOptions } from "../../lib/datastructures/cookie";
import { ImproperlyConfiguredException } from "../../lib/exceptions";

describe("Cookie", () => {
  it("renders defaults", () => {
    const cookie = new Cookie({ key: "session", value: "abc" });

    expect(cookie.toHeaderValue()).to.equal("session=abc; Path=/; SameSite=Lax");
  });

  it("renders every attribute", () => {
    const cookie = new Cookie({
      key: "id",
      value: "x1",
      path: "/app",
      domain: "example.com",
      maxAge: 3600,
      expires: new Date(Date.UTC(2030, 0, 2, 3, 4, 5)),
      secure: true,
      httpOnly: true,
      sameSite: "Strict",
      partitioned: true,
    });

    expect(cookie.toHeaderValue()).to.equal(
      "id=x1; Domain=example.com; Path=/app; Max-Age=3600; " +
        "Expires=Wed, 02 Jan 2030 03:04:05 GMT; Secure; HttpOnly; SameSite=Strict; Partitioned",
    );
  });

  it("renders empty value when omitted", () => {
    expect(new Cookie({ key: "a" }).toHeaderValue()).to.match(/^a=; /);
  });

  it("reads expires as Unix seconds", () => {
    const cookie = new Cookie({ key: "a", expires: 0 });

    expect(cookie.toHeaderValue()).to.contain("Expires=Thu, 01 Jan 1970 00:00:00 GMT");
  });

  it("renders zero and negative maxAge", () => {
    expect(new Cookie({ key: "a", maxAge: 0 }).toHeaderValue()).to.contain("Max-Age=0");
    expect(new Cookie({ key: "a", maxAge: -1 }).toHeaderValue()).to.contain("Max-Age=-1");
  });

  it("returns an ASGI set-cookie header", () => {
    expect(new Cookie({ key: "a", value: "1" }).toHeader()).to.deep.equal([
      "set-cookie",
      "a=1; Path=/; SameSite=Lax",
    ]);
  });

  it("accepts quoted and base64 values", () => {
    for (const value of ['"abc"', "YWJj+/==", "a:b!#$%&'()*-.^_`|~"]) {
      expect(new Cookie({ key: "a", value }).value).to.equal(value);
    }
  });

  it("compares by key, path and domain", () => {
    const a = new Cookie({ key: "a", value: "1" });

    expect(a.equals(new Cookie({ key: "a", value: "2" }))).to.equal(true);
    expect(a.equals(new Cookie({ key: "a", path: "/x" }))).to.equal(false);
    expect(a.equals(new Cookie({ key: "a", domain: "example.com" }))).to.equal(false);
    expect(a.equals({ key: "a", path: "/", domain: null })).to.equal(false);
  });

  it("is frozen", () => {
    const cookie = new Cookie({ key: "a" });

    expect(Object.isFrozen(cookie)).to.equal(true);
  });

  describe("accepts boundary fields", () => {
    const cases: { name: string; options: CookieOptions; rendered: string }[] = [
      {
        name: "maxAge 100 years",
        options: { key: "a", maxAge: 3155760000 },
        rendered: "Max-Age=3155760000",
      },
      {
        name: "dotted domain",
        options: { key: "a", domain: ".a-b.example" },
        rendered: "Domain=.a-b.example",
      },
      {
        name: "domain label of 63",
        options: { key: "a", domain: "a".repeat(63) },
        rendered: "Domain=a",
      },
      { name: "path with space", options: { key: "a", path: "/a b" }, rendered: "Path=/a b" },
    ];

    for (const { name, options, rendered } of cases) {
      it(name, () => {
        expect(new Cookie(options).toHeaderValue()).to.include(rendered);
      });
    }
  });

  describe("rejects invalid fields", () => {
    const cases: { name: string; options: CookieOptions; field: string }[] = [
      { name: "empty key", options: { key: "" }, field: "key" },
      { name: "key with space", options: { key: "a b" }, field: "key" },
      { name: "key with equals", options: { key: "a=b" }, field: "key" },
      { name: "key with non-ASCII", options: { key: "café" }, field: "key" },
      { name: "value with space", options: { key: "a", value: "x y" }, field: "value" },
      { name: "value with semicolon", options: { key: "a", value: "x;y" }, field: "value" },
      { name: "value with comma", options: { key: "a", value: "x,y" }, field: "value" },
      { name: "value with backslash", options: { key: "a", value: "x\\y" }, field: "value" },
      { name: "value with inner quote", options: { key: "a", value: 'x"y' }, field: "value" },
      { name: "value with newline", options: { key: "a", value: "x\r\ny" }, field: "value" },
      { name: "value with non-ASCII", options: { key: "a", value: "café" }, field: "value" },
      { name: "path with semicolon", options: { key: "a", path: "/a;b" }, field: "path" },
      { name: "path with newline", options: { key: "a", path: "/a\n" }, field: "path" },
      { name: "empty domain", options: { key: "a", domain: "" }, field: "domain" },
      { name: "domain with semicolon", options: { key: "a", domain: "a;b" }, field: "domain" },
      { name: "path with non-ASCII", options: { key: "a", path: "/é" }, field: "path" },
      { name: "path without slash", options: { key: "a", path: "app" }, field: "path" },
      { name: "domain with space", options: { key: "a", domain: "a b.com" }, field: "domain" },
      { name: "domain with comma", options: { key: "a", domain: "a.com,b=1" }, field: "domain" },
      { name: "domain with non-ASCII", options: { key: "a", domain: "é.com" }, field: "domain" },
      {
        name: "domain label of 64",
        options: { key: "a", domain: "a".repeat(64) },
        field: "domain",
      },
      { name: "domain trailing hyphen", options: { key: "a", domain: "a-.com" }, field: "domain" },
      { name: "fractional maxAge", options: { key: "a", maxAge: 1.5 }, field: "maxAge" },
      { name: "maxAge over 100 years", options: { key: "a", maxAge: 3155760001 }, field: "maxAge" },
      { name: "maxAge 1e21", options: { key: "a", maxAge: 1e21 }, field: "maxAge" },
      { name: "maxAge -1e21", options: { key: "a", maxAge: -1e21 }, field: "maxAge" },
      { name: "NaN maxAge", options: { key: "a", maxAge: NaN }, field: "maxAge" },
      {
        name: "invalid expires date",
        options: { key: "a", expires: new Date(NaN) },
        field: "expires",
      },
      {
        name: "expires beyond 9999",
        options: { key: "a", expires: 253402300800 },
        field: "expires",
      },
      {
        name: "unknown sameSite",
        options: { key: "a", sameSite: "always" as CookieOptions["sameSite"] },
        field: "sameSite",
      },
    ];

    for (const { name, options, field } of cases) {
      it(name, () => {
        expect(() => new Cookie(options))
          .to.throw(ImproperlyConfiguredException)
          .with.property("message")
          .that.contains(field);
      });
    }
  });
});
