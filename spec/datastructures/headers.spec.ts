import { expect } from "chai";

import {
  MutableScopeHeaders,
  RequestHeaders,
  latin1ToUtf8,
} from "../../lib/datastructures/headers";
import type { HTTPResponseStartEvent } from "../../lib/types/asgi";

function startMessage(headers?: [string, string][]): HTTPResponseStartEvent {
  return { type: "http.response.start", status: 200, headers };
}

describe("MutableScopeHeaders", () => {
  it("creates missing header list", () => {
    const message = startMessage();
    const headers = MutableScopeHeaders.fromMessage(message);
    headers.add("X-One", "1");

    expect(message.headers).to.deep.equal([["x-one", "1"]]);
  });

  it("edits the list in place", () => {
    const list: [string, string][] = [["content-type", "text/plain"]];
    const message = startMessage(list);
    MutableScopeHeaders.fromMessage(message).add("set-cookie", "a=1");

    expect(message.headers).to.equal(list);
    expect(list).to.have.length(2);
  });

  it("keeps duplicates on add", () => {
    const headers = new MutableScopeHeaders();
    headers.add("set-cookie", "a=1");
    headers.add("Set-Cookie", "b=2");

    expect(headers.getAll("SET-COOKIE")).to.deep.equal(["a=1", "b=2"]);
    expect(headers.get("set-cookie")).to.equal("a=1");
    expect(headers.size).to.equal(2);
  });

  it("returns undefined for absent header", () => {
    const headers = new MutableScopeHeaders();

    expect(headers.get("x")).to.equal(undefined);
    expect(headers.getAll("x")).to.deep.equal([]);
    expect(headers.has("x")).to.equal(false);
  });

  it("set replaces every duplicate", () => {
    const message = startMessage([
      ["vary", "a"],
      ["x-keep", "1"],
      ["vary", "b"],
      ["vary", "c"],
      ["x-keep", "2"],
    ]);
    MutableScopeHeaders.fromMessage(message).set("Vary", "d");

    expect(message.headers).to.deep.equal([
      ["vary", "d"],
      ["x-keep", "1"],
      ["x-keep", "2"],
    ]);
  });

  it("set appends a new header", () => {
    const headers = new MutableScopeHeaders({ headers: [["a", "1"]] });
    headers.set("b", "2");

    expect([...headers]).to.deep.equal([
      ["a", "1"],
      ["b", "2"],
    ]);
  });

  it("delete removes every duplicate", () => {
    const message = startMessage([
      ["set-cookie", "a=1"],
      ["x", "1"],
      ["set-cookie", "b=2"],
    ]);
    MutableScopeHeaders.fromMessage(message).delete("Set-Cookie");

    expect(message.headers).to.deep.equal([["x", "1"]]);
  });

  it("extends a comma-separated value", () => {
    const headers = new MutableScopeHeaders({ headers: [["vary", "Accept"]] });
    headers.extendHeaderValue("vary", "Cookie");

    expect(headers.getAll("vary")).to.deep.equal(["Accept,Cookie"]);
  });

  it("extendHeaderValue adds missing header", () => {
    const headers = new MutableScopeHeaders();
    headers.extendHeaderValue("vary", "Cookie");

    expect(headers.get("vary")).to.equal("Cookie");
  });

  it("matches names case-insensitively", () => {
    const headers = new MutableScopeHeaders({ headers: [["X-Mixed", "1"]] });

    expect(headers.get("x-mixed")).to.equal("1");
  });

  it("rejects invalid names and values", () => {
    const headers = new MutableScopeHeaders();

    expect(() => headers.add("bad name", "1")).to.throw(TypeError, /bad name/);
    expect(() => headers.add("x", "a\r\nb: c")).to.throw(TypeError, /CR, LF/);
    expect(() => headers.set("x", "€")).to.throw(TypeError, /U\+00FF/);
    expect(headers.size).to.equal(0);
  });

  it("accepts latin-1 values", () => {
    const headers = new MutableScopeHeaders();
    headers.add("x", "caf\u00e9");

    expect(headers.get("x")).to.equal("caf\u00e9");
  });
});

describe("RequestHeaders", () => {
  it("reads first and all values", () => {
    const headers = new RequestHeaders([
      ["accept", "a"],
      ["accept", "b"],
    ]);

    expect(headers.get("Accept")).to.equal("a");
    expect(headers.getAll("ACCEPT")).to.deep.equal(["a", "b"]);
    expect(headers.has("accept")).to.equal(true);
    expect(headers.has("host")).to.equal(false);
  });
});

describe("latin1ToUtf8", () => {
  it("decodes UTF-8 bytes", () => {
    expect(latin1ToUtf8(Buffer.from("é€", "utf8").toString("latin1"))).to.equal("é€");
  });

  it("returns ASCII unchanged", () => {
    expect(latin1ToUtf8("plain")).to.equal("plain");
  });
});
