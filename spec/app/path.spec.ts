import { expect } from "chai";

import { compilePathTemplate, matchPathTemplate, normalizePath } from "../../lib/app/path";
import { ImproperlyConfiguredException } from "../../lib/exceptions";

describe("normalizePath", () => {
  const cases: [string, string][] = [
    ["/", "/"],
    ["", "/"],
    ["/a", "/a"],
    ["/a/", "/a"],
    ["a/b", "/a/b"],
    ["//a///b//", "/a/b"],
  ];

  for (const [input, expected] of cases) {
    it(`normalizes ${JSON.stringify(input)}`, () => {
      expect(normalizePath(input)).to.equal(expected);
    });
  }
});

describe("compilePathTemplate", () => {
  it("leaves static paths without pattern", () => {
    const template = compilePathTemplate("/users/me/");

    expect(template.path).to.equal("/users/me");
    expect(template.pattern).to.equal(null);
  });

  it("escapes regex characters in literals", () => {
    const template = compilePathTemplate("/a.b/{id:int}");

    expect(matchPathTemplate(template, "/a.b/1")).to.deep.equal({ id: 1 });
    expect(matchPathTemplate(template, "/axb/1")).to.equal(null);
  });

  describe("converts parameter types", () => {
    const cases: { template: string; path: string; expected: Record<string, unknown> | null }[] = [
      { template: "/u/{id:int}", path: "/u/42", expected: { id: 42 } },
      { template: "/u/{id:int}", path: "/u/-7", expected: { id: -7 } },
      { template: "/u/{id:int}", path: "/u/abc", expected: null },
      { template: "/u/{id:int}", path: "/u/1.5", expected: null },
      { template: "/u/{id:int}", path: "/u/99999999999999999999", expected: null },
      { template: "/f/{x:float}", path: "/f/1.5", expected: { x: 1.5 } },
      { template: "/f/{x:float}", path: "/f/-2e3", expected: { x: -2000 } },
      { template: "/f/{x:float}", path: "/f/nan", expected: null },
      { template: "/s/{name:str}", path: "/s/caf\u00e9 x", expected: { name: "caf\u00e9 x" } },
      { template: "/s/{name:str}", path: "/s/a/b", expected: null },
      {
        template: "/k/{key:uuid}",
        path: "/k/0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9",
        expected: { key: "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9" },
      },
      {
        template: "/k/{key:uuid}",
        path: "/k/0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        expected: { key: "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9" },
      },
      { template: "/k/{key:uuid}", path: "/k/not-a-uuid", expected: null },
      { template: "/files/{p:path}", path: "/files/a/b.txt", expected: { p: "/a/b.txt" } },
      { template: "/files/{p:path}", path: "/files", expected: null },
      {
        template: "/{a:str}/x/{b:int}",
        path: "/one/x/2",
        expected: { a: "one", b: 2 },
      },
    ];

    for (const { template, path, expected } of cases) {
      it(`${template} with ${path}`, () => {
        expect(matchPathTemplate(compilePathTemplate(template), path)).to.deep.equal(expected);
      });
    }
  });

  describe("rejects invalid templates", () => {
    const cases: [string, RegExp][] = [
      ["/u/{id}", /\{id:TYPE\}/],
      ["/u/{id:integer}", /"integer"/],
      ["/u/{id:int}/{id:str}", /twice/],
      ["/u/file-{id:int}", /whole segment/],
      ["/u/{1d:int}", /"1d"/],
      ["/u/{p:path}/more", /last segment/],
      ["/u/{__proto__:str}", /"__proto__"/],
    ];

    for (const [template, message] of cases) {
      it(template, () => {
        expect(() => compilePathTemplate(template)).to.throw(
          ImproperlyConfiguredException,
          message,
        );
      });
    }
  });
});
