import { request } from "node:http";

import type { Scenario } from "./scenarios";

const REQUEST_TIMEOUT_MS = 5_000;
const HELLO_BODY = "Hello, world!";

interface SimpleResponse {
  status: number;
  body: string;
  setCookies: string[];
}

/** Sends one GET to 127.0.0.1 and collects the whole response. */
export function get(port: number, cookie: string | null): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = cookie ? { cookie } : {};
    const outgoing = request({ host: "127.0.0.1", port, path: "/", headers, agent: false });

    outgoing.setTimeout(REQUEST_TIMEOUT_MS, () => {
      outgoing.destroy(new Error(`GET / on port ${port} timed out after ${REQUEST_TIMEOUT_MS} ms`));
    });
    outgoing.on("error", reject);
    outgoing.on("response", (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("error", reject);
      response.on("end", () =>
        resolve({
          status: response.statusCode ?? 0,
          body: Buffer.concat(chunks).toString("utf8"),
          setCookies: response.headers["set-cookie"] ?? [],
        }),
      );
    });
    outgoing.end();
  });
}

/** Builds a Cookie request header from Set-Cookie values, skipping cookies being cleared. */
export function cookieHeaderFrom(setCookies: string[]): string {
  const pairs: string[] = [];

  for (const setCookie of setCookies) {
    const pair = setCookie.split(";", 1)[0].trim();
    const value = pair.slice(pair.indexOf("=") + 1);
    if (value === "" || value === "null" || /;\s*max-age=0\b/i.test(setCookie)) continue;

    pairs.push(pair);
  }

  return pairs.join("; ");
}

function expectEqual(scenario: Scenario, what: string, actual: unknown, expected: unknown): void {
  if (actual === expected) return;

  throw new Error(
    `${scenario.id}: ${what} was ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`,
  );
}

/**
 * Checks that the scenario's server does the work it claims and returns the Cookie header the
 * load generator replays (null for scenarios without a session).
 *
 * @throws Error naming the scenario and the mismatch; the scenario must then not be measured.
 */
export async function primeAndCheck(scenario: Scenario, port: number): Promise<string | null> {
  const check = scenario.check;

  if (check.kind === "hello") {
    const response = await get(port, null);
    expectEqual(scenario, "status", response.status, 200);
    expectEqual(scenario, "body", response.body, HELLO_BODY);
    return null;
  }

  const first = await get(port, null);
  expectEqual(scenario, "status of the priming request", first.status, 200);
  expectEqual(scenario, "body of the priming request", first.body, "1");

  const cookie = cookieHeaderFrom(first.setCookies);
  if (cookie === "") {
    throw new Error(`${scenario.id}: the priming request got no session cookie`);
  }

  const replay = await get(port, cookie);
  expectEqual(scenario, "status with the session cookie", replay.status, 200);
  expectEqual(scenario, "body with the session cookie", replay.body, check.replayBody);
  expectEqual(
    scenario,
    "presence of Set-Cookie with the session cookie",
    replay.setCookies.length > 0,
    check.replaySetsCookie,
  );

  return cookie;
}
