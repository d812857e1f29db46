import { expect } from "chai";

import { Request } from "../../lib/connection/request";
import {
  ASGIProtocolError,
  ClientDisconnectedError,
  ClientException,
  HTTPException,
  ImproperlyConfiguredException,
} from "../../lib/exceptions";
import type { HTTPReceiveMessage, Headers } from "../../lib/types/asgi";
import { httpScope, queueReceive } from "../app/fixtures";

function chunk(text: string, moreBody: boolean): HTTPReceiveMessage {
  return { type: "http.request", body: Buffer.from(text), more_body: moreBody };
}

function request(
  messages: HTTPReceiveMessage[],
  options: { headers?: Headers; maxBodySize?: number } = {},
): { request: Request; receiveCount: () => number } {
  let count = 0;
  const queued = queueReceive(messages);
  const receive = () => {
    count++;
    return queued();
  };
  const scope = httpScope("/", { method: "POST", headers: options.headers });

  return {
    request: new Request(scope, receive, undefined, { maxBodySize: options.maxBodySize }),
    receiveCount: () => count,
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the promise to reject");
}

describe("Request", () => {
  it("exposes the method", () => {
    expect(request([]).request.method).to.equal("POST");
  });

  it("joins body chunks", async () => {
    const { request: req } = request([chunk("ab", true), chunk("", true), chunk("c", false)]);

    expect((await req.body()).toString()).to.equal("abc");
  });

  it("reads the body once", async () => {
    const { request: req, receiveCount } = request([chunk("x", false)]);
    const first = await req.body();
    const second = await req.body();

    expect(second).to.equal(first);
    expect(receiveCount()).to.equal(1);
  });

  it("shares the body across requests", async () => {
    const { request: req } = request([chunk("shared", false)]);
    await req.body();
    const other = new Request(req.scope);

    expect(await other.text()).to.equal("shared");
  });

  it("returns empty body", async () => {
    const { request: req } = request([chunk("", false)]);

    expect((await req.body()).byteLength).to.equal(0);
  });

  it("decodes text as UTF-8", async () => {
    const { request: req } = request([chunk("café", false)]);

    expect(await req.text()).to.equal("café");
  });

  it("parses JSON", async () => {
    const { request: req } = request([chunk('{"a":[1,2]}', false)]);

    expect(await req.json()).to.deep.equal({ a: [1, 2] });
  });

  it("parses empty body as null", async () => {
    const { request: req } = request([chunk("", false)]);

    expect(await req.json()).to.equal(null);
  });

  it("rejects invalid JSON with 400", async () => {
    const { request: req } = request([chunk("{oops", false)]);
    const error = await rejection(req.json());

    expect(error).to.be.instanceOf(ClientException);
    expect((error as ClientException).statusCode).to.equal(400);
  });

  it("streams chunks without keeping them", async () => {
    const { request: req } = request([chunk("a", true), chunk("b", false)]);
    const chunks: string[] = [];
    for await (const part of req.stream()) chunks.push(Buffer.from(part).toString());

    expect(chunks).to.deep.equal(["a", "b"]);
    const error = await rejection(req.body());
    expect(error).to.be.instanceOf(ASGIProtocolError);
  });

  it("streams a body already read", async () => {
    const { request: req } = request([chunk("a", true), chunk("b", false)]);
    await req.body();
    const chunks: string[] = [];
    for await (const part of req.stream()) chunks.push(Buffer.from(part).toString());

    expect(chunks).to.deep.equal(["ab"]);
  });

  it("throws on disconnect mid-body", async () => {
    const { request: req } = request([chunk("a", true), { type: "http.disconnect" }]);
    const error = await rejection(req.body());

    expect(error).to.be.instanceOf(ClientDisconnectedError);
    expect(req.isDisconnected).to.equal(true);
  });

  it("repeats the disconnect on later reads", async () => {
    const { request: req } = request([{ type: "http.disconnect" }]);
    await rejection(req.body());

    expect(await rejection(req.text())).to.be.instanceOf(ClientDisconnectedError);
  });

  it("rejects body over the limit", async () => {
    const { request: req } = request([chunk("12345", true), chunk("6", false)], {
      maxBodySize: 5,
    });
    const error = await rejection(req.body());

    expect(error).to.be.instanceOf(HTTPException);
    expect((error as HTTPException).statusCode).to.equal(413);
  });

  it("accepts body at the limit", async () => {
    const { request: req } = request([chunk("12345", false)], { maxBodySize: 5 });

    expect(await req.text()).to.equal("12345");
  });

  it("rejects declared length over limit", async () => {
    const { request: req, receiveCount } = request([chunk("", false)], {
      headers: [["content-length", "100"]],
      maxBodySize: 10,
    });
    const error = await rejection(req.body());

    expect((error as HTTPException).statusCode).to.equal(413);
    expect(receiveCount()).to.equal(0);
  });

  it("reads content type without parameters", () => {
    const headers: Headers = [["content-type", "Application/JSON; charset=utf-8"]];

    expect(request([], { headers }).request.contentType).to.equal("application/json");
  });

  it("rejects invalid maxBodySize", () => {
    for (const maxBodySize of [0, -1, NaN]) {
      expect(() => new Request(httpScope("/"), undefined, undefined, { maxBodySize })).to.throw(
        ImproperlyConfiguredException,
        /maxBodySize/,
      );
    }
  });
});
