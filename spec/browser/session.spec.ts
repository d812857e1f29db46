import { existsSync } from "node:fs";

import { expect } from "chai";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

import { createDemoApp } from "../../examples/demo-app";
import { silentLogger } from "../../lib/logger";
import { serve } from "../../lib/server";

const CHROMIUM_PATH = "/usr/bin/chromium";

const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

interface Summary {
  count: number;
  user: string | null;
  wsVisits: number;
  largeLength: number;
}

/** Calls the demo API from inside the page, so the browser's own cookie jar is used. */
function callApi(page: Page, method: "GET" | "POST", path: string): Promise<Summary> {
  return page.evaluate(
    async ([requestMethod, requestPath]) => {
      const response = await fetch(requestPath, { method: requestMethod });
      return (await response.json()) as Summary;
    },
    [method, path] as const,
  );
}

/** Opens the demo WebSocket from the page and returns its first message, then closes it. */
function openWebSocket(page: Page, url: string): Promise<{ type: string; session: Summary }> {
  return page.evaluate(
    (socketUrl) =>
      new Promise<{ type: string; session: Summary }>((resolve, reject) => {
        const socket = new WebSocket(socketUrl);
        const timer = setTimeout(() => reject(new Error("no WebSocket message in 5 s")), 5000);

        socket.onmessage = (event) => {
          clearTimeout(timer);
          socket.onclose = () => resolve(JSON.parse(String(event.data)));
          socket.close();
        };
        socket.onerror = () => {
          clearTimeout(timer);
          reject(new Error("the WebSocket failed"));
        };
      }),
    url,
  );
}

async function sessionCookies(context: BrowserContext): Promise<Record<string, string>> {
  const cookies = await context.cookies();
  return Object.fromEntries(
    cookies
      .filter((cookie) => /^session(-\d+)?$/.test(cookie.name))
      .map((cookie) => [cookie.name, cookie.value]),
  );
}

describe("browser session", function () {
  this.timeout(30000);

  let browser: Browser;
  let server: { port: number; close(): Promise<void> };
  let context: BrowserContext;
  let page: Page;

  before(async function () {
    if (!existsSync(CHROMIUM_PATH)) {
      throw new Error(
        `Chromium is missing at ${CHROMIUM_PATH}; install the Debian package "chromium" to run ` +
          "the browser tests",
      );
    }

    const app = createDemoApp({ secret: Buffer.alloc(32, 3), logger: silentLogger });
    server = await serve(app, { host: "127.0.0.1", port: 0, logger: silentLogger });
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  beforeEach(async () => {
    context = await browser.newContext();
    page = await context.newPage();
    await page.goto(`http://127.0.0.1:${server.port}/`);
  });

  afterEach(async () => {
    await context.close();
  });

  it("keeps a session across requests", async () => {
    await callApi(page, "POST", "/api/increment");
    await callApi(page, "POST", "/api/increment");
    const summary = await callApi(page, "GET", "/api/session");
    const cookies = await context.cookies();

    expect(summary.count).to.equal(2);
    expect(cookies.map((cookie) => cookie.name)).to.deep.equal(["session"]);
    expect(cookies[0].httpOnly).to.equal(true);
    expect(cookies[0].sameSite).to.equal("Lax");
  });

  it("grows into chunks and shrinks back", async () => {
    await callApi(page, "POST", "/api/increment");

    const grown = await callApi(page, "POST", "/api/large");
    const chunked = await sessionCookies(context);
    const readBack = await callApi(page, "GET", "/api/session");

    expect(grown.largeLength).to.equal(7000);
    expect(Object.keys(chunked).sort()).to.deep.equal(["session-0", "session-1", "session-2"]);
    expect(readBack).to.include({ count: 1, largeLength: 7000 });

    const shrunk = await callApi(page, "POST", "/api/shrink");
    const single = await sessionCookies(context);
    const after = await callApi(page, "GET", "/api/session");

    expect(shrunk.largeLength).to.equal(0);
    expect(Object.keys(single)).to.deep.equal(["session"]);
    expect(after).to.include({ count: 1, largeLength: 0 });
  });

  it("keeps the cookie set on upgrade", async () => {
    await callApi(page, "POST", "/api/increment");
    const before = await sessionCookies(context);

    const message = await openWebSocket(page, `ws://127.0.0.1:${server.port}/ws`);
    const afterUpgrade = await sessionCookies(context);
    const summary = await callApi(page, "GET", "/api/session");

    expect(message.session).to.include({ count: 1, wsVisits: 0 });
    expect(afterUpgrade.session).not.to.equal(before.session);
    expect(summary).to.include({ count: 1, wsVisits: 1 });
  });

  it("logs in through the form", async () => {
    await callApi(page, "POST", "/api/increment");

    await page.fill("input[name=username]", "ada");
    const pageReloaded = page.waitForResponse(
      (response) =>
        response.request().method() === "GET" && response.url().endsWith(":" + server.port + "/"),
    );
    await page.click("form[action='/api/login'] button");
    await pageReloaded;
    await page.waitForLoadState("load");
    const summary = await callApi(page, "GET", "/api/session");

    expect(summary).to.include({ user: "ada", count: 1 });
  });
});
