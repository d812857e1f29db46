/**
 * `parseCookieHeader` on the shared header fixtures, next to jshttp's `cookie.parse` with its
 * default decoding as a reference point.
 */
import { parse } from "cookie";

import { parseCookieHeader } from "../../lib/datastructures/cookie-parser";
import { COOKIE_HEADER_FIXTURES } from "../fixtures/cookie-headers";
import { runIfMain, type MicroCase, type MicroSuite } from "./measure";

function parserCases(): MicroCase[] {
  const cases: MicroCase[] = [];

  for (const fixture of COOKIE_HEADER_FIXTURES) {
    const header = fixture.header;
    cases.push({
      name: `parseCookieHeader, ${fixture.name}`,
      run: () => parseCookieHeader(header),
    });
  }

  const typical = COOKIE_HEADER_FIXTURES[1].header as string;
  cases.push({
    name: "cookie.parse (reference), session among 7 browser cookies",
    run: () => parse(typical),
  });

  return cases;
}

export const suite: MicroSuite = { name: "cookie parsing", cases: parserCases() };

runIfMain(module, suite);
