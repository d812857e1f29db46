/**
 * Building response headers: a session `Set-Cookie` value with `Cookie.toHeaderValue()`, next
 * to jshttp's `cookie.serialize` as a reference point, and an ASGI header list for a session
 * response.
 */
import { serialize } from "cookie";

import { Cookie } from "../../lib/datastructures/cookie";
import { runIfMain, type MicroSuite } from "./measure";

const SESSION_VALUE = Buffer.alloc(140, 7).toString("base64");
const MAX_AGE = 1_209_600;

export const suite: MicroSuite = {
  name: "header building",
  cases: [
    {
      name: "Cookie.toHeaderValue, session cookie",
      run: () =>
        new Cookie({
          key: "session",
          value: SESSION_VALUE,
          path: "/",
          maxAge: MAX_AGE,
          httpOnly: true,
          sameSite: "lax",
        }).toHeaderValue(),
    },
    {
      name: "Cookie.toHeaderValue, clearing cookie",
      run: () =>
        new Cookie({ key: "session-1", value: "null", path: "/", expires: 0 }).toHeaderValue(),
    },
    {
      name: "cookie.serialize (reference), session cookie",
      run: () =>
        serialize("session", SESSION_VALUE, {
          path: "/",
          maxAge: MAX_AGE,
          httpOnly: true,
          sameSite: "lax",
        }),
    },
  ],
};

runIfMain(module, suite);
