import { expect } from "chai";

import {
  decodePath,
  parseSubprotocols,
  percentDecode,
  rawBytesOf,
  utf8ToLatin1,
} from "../../lib/server/request";
import { statusLine } from "../../lib/server/response";

describe("percentDecode", () => {
  const cases: Array<[string, string, string]> = [
    ["plain path", "/a/b", "/a/b"],
    ["space escape", "/a%20b", "/a b"],
    ["lower-case hex", "/%c3%a9", "/é"],
    ["upper-case hex", "/%C3%A9", "/é"],
    ["encoded slash", "/a%2Fb", "/a/b"],
    ["invalid hex kept", "/%zz/%4", "/%zz/%4"],
    ["trailing percent kept", "/a%", "/a%"],
    ["invalid UTF-8 replaced", "/%ff", "/\ufffd"],
    ["raw UTF-8 bytes", "/\xc3\xa9%20", "/é "],
    ["double escape once", "/%2541", "/%41"],
  ];

  for (const [name, raw, decoded] of cases) {
    it(`decodes ${name}`, () => {
      expect(percentDecode(raw)).to.equal(decoded);
    });
  }
});

describe("decodePath", () => {
  it("returns url without escapes", () => {
    expect(decodePath("/é", "/\xc3\xa9")).to.equal("/é");
  });

  it("decodes from raw bytes", () => {
    expect(decodePath("/é%20", "/\xc3\xa9%20")).to.equal("/é ");
  });
});

describe("rawBytesOf", () => {
  it("keeps ASCII unchanged", () => {
    expect(rawBytesOf("/a?b=c")).to.equal("/a?b=c");
  });

  it("re-encodes non-ASCII as UTF-8 bytes", () => {
    expect(rawBytesOf("é")).to.equal("\xc3\xa9");
    expect(utf8ToLatin1("€")).to.equal("\xe2\x82\xac");
  });
});

describe("parseSubprotocols", () => {
  it("splits and trims offers", () => {
    const headers: Array<[string, string]> = [
      ["host", "x"],
      ["sec-websocket-protocol", "chat, superchat ,,"],
      ["sec-websocket-protocol", "v3"],
    ];

    expect(parseSubprotocols(headers)).to.deep.equal(["chat", "superchat", "v3"]);
  });

  it("returns empty without header", () => {
    expect(parseSubprotocols([["host", "x"]])).to.deep.equal([]);
  });
});

describe("statusLine", () => {
  it("adds the reason phrase", () => {
    expect(statusLine(404)).to.equal("404 Not Found");
    expect(statusLine(200)).to.equal("200 OK");
  });

  it("leaves unknown reasons empty", () => {
    expect(statusLine(799)).to.equal("799 ");
  });
});
