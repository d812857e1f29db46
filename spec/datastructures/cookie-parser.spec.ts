import { expect } from "chai";

import { parseCookieHeader } from "../../lib/datastructures/cookie-parser";
import { ASGIConnection } from "../../lib/connection/base";
import { httpScope } from "../app/fixtures";

describe("parseCookieHeader", () => {
  const cases: { name: string; header: string | string[]; expected: Record<string, string> }[] = [
    { name: "single pair", header: "a=1", expected: { a: "1" } },
    { name: "several pairs", header: "a=1; b=2; c=3", expected: { a: "1", b: "2", c: "3" } },
    { name: "no space after semicolon", header: "a=1;b=2", expected: { a: "1", b: "2" } },
    { name: "header fields joined", header: ["a=1", "b=2"], expected: { a: "1", b: "2" } },
    { name: "quotes removed", header: 'a="x/y+z="', expected: { a: "x/y+z=" } },
    {
      name: "SimpleCookie escapes decoded",
      header: 'a="x\\054y\\073\\"z\\\\\\351/="',
      expected: { a: 'x,y;"z\\\u00e9/=' },
    },
    { name: "escapes outside quotes kept", header: "a=x\\054", expected: { a: "x\\054" } },
    { name: "lone quote kept", header: 'a="x', expected: { a: '"x' } },
    { name: "pair without equals skipped", header: "a=1; bad; c=3", expected: { a: "1", c: "3" } },
    { name: "percent escape decoded", header: "a=caf%C3%A9", expected: { a: "café" } },
    { name: "bad percent escape kept", header: "a=100%; b=%zz", expected: { a: "100%", b: "%zz" } },
    { name: "plus kept", header: "a=x+y", expected: { a: "x+y" } },
    { name: "first duplicate wins", header: "a=1; a=2", expected: { a: "1" } },
    { name: "duplicate across fields", header: ["a=1", "a=2"], expected: { a: "1" } },
    { name: "empty name skipped", header: "=x; b=2", expected: { b: "2" } },
    { name: "empty value kept", header: "a=; b=2", expected: { a: "", b: "2" } },
    { name: "whitespace trimmed", header: "  a = 1 ;  b=2  ", expected: { a: "1", b: "2" } },
    { name: "equals inside value", header: "a=b=c", expected: { a: "b=c" } },
    { name: "empty header", header: "", expected: {} },
  ];

  for (const { name, header, expected } of cases) {
    it(name, () => {
      expect(parseCookieHeader(header)).to.deep.equal(expected);
    });
  }

  it("keeps __proto__ as a cookie", () => {
    const cookies = parseCookieHeader("__proto__=x; a=1");

    expect(Object.keys(cookies)).to.deep.equal(["__proto__", "a"]);
    expect(cookies["__proto__"]).to.equal("x");
  });

  it("inherits no Object members", () => {
    const cookies = parseCookieHeader("a=1");

    expect(Object.getPrototypeOf(cookies)).to.equal(null);
    for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
      expect(cookies[name], name).to.equal(undefined);
    }
  });

  it("reads Object member names as cookies", () => {
    const cookies = parseCookieHeader("constructor=c; toString=t; valueOf=v");

    expect(cookies.constructor).to.equal("c");
    expect(cookies.toString).to.equal("t");
    expect(cookies.valueOf).to.equal("v");
  });
});

describe("ASGIConnection cookies", () => {
  it("decodes latin-1 bytes as UTF-8", () => {
    const raw = Buffer.from("name=café", "utf8").toString("latin1");
    const connection = new ASGIConnection(httpScope("/", { headers: [["cookie", raw]] }));

    expect(connection.cookies).to.deep.equal({ name: "café" });
  });

  it("joins several cookie headers", () => {
    const headers: [string, string][] = [
      ["cookie", "a=1"],
      ["cookie", "b=2"],
    ];
    const connection = new ASGIConnection(httpScope("/", { headers }));

    expect(connection.cookies).to.deep.equal({ a: "1", b: "2" });
  });

  it("returns empty object without header", () => {
    const cookies = new ASGIConnection(httpScope("/")).cookies;

    expect(cookies).to.deep.equal({});
    expect(cookies.toString).to.equal(undefined);
    expect("constructor" in cookies).to.equal(false);
  });

  it("caches cookies on the scope", () => {
    const scope = httpScope("/", { headers: [["cookie", "a=1"]] });
    const first = new ASGIConnection(scope).cookies;
    scope.headers.push(["cookie", "b=2"]);

    expect(new ASGIConnection(scope).cookies).to.equal(first);
    expect(new ASGIConnection({ ...scope }).cookies).to.equal(first);
  });
});
