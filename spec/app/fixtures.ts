import type {
  ASGIApp,
  Headers,
  HTTPScope,
  ReceiveMessage,
  SendMessage,
  WebSocketScope,
} from "../../lib/types/asgi";

/** Builds an HTTP scope as a server would, with `path` split from its query string. */
export function httpScope(
  target = "/",
  init: { method?: string; headers?: Headers; rootPath?: string } = {},
): HTTPScope {
  const [path, query = ""] = target.split("?", 2);

  return {
    type: "http",
    asgi: { version: "3.0", spec_version: "2.5" },
    http_version: "1.1",
    method: init.method ?? "GET",
    scheme: "http",
    path: decodeURIComponent(path),
    raw_path: path,
    query_string: query,
    root_path: init.rootPath ?? "",
    headers: init.headers ?? [["host", "testserver"]],
    client: ["127.0.0.1", 50000],
    server: ["127.0.0.1", 8000],
    state: {},
  };
}

export function websocketScope(
  path = "/",
  init: {
    headers?: Headers;
    subprotocols?: string[];
    extensions?: WebSocketScope["extensions"];
  } = {},
): WebSocketScope {
  return {
    type: "websocket",
    asgi: { version: "3.0", spec_version: "2.5" },
    http_version: "1.1",
    scheme: "ws",
    path,
    raw_path: path,
    query_string: "",
    root_path: "",
    headers: init.headers ?? [["host", "testserver"]],
    client: ["127.0.0.1", 50000],
    server: ["127.0.0.1", 8000],
    state: {},
    subprotocols: init.subprotocols ?? [],
    extensions: init.extensions,
  };
}

/** Returns a `receive` that hands out `messages` in order, then waits forever. */
export function queueReceive(messages: ReceiveMessage[]): () => Promise<ReceiveMessage> {
  const queue = [...messages];

  return () => {
    const next = queue.shift();
    return next === undefined ? new Promise(() => undefined) : Promise.resolve(next);
  };
}

export interface CapturedResponse {
  status: number;
  headers: Headers;
  body: Buffer;
  text: string;
  messages: SendMessage[];
  header(name: string): string | undefined;
  json(): unknown;
}

/** Calls an ASGI app with one HTTP request in-process and collects what it sends. */
export async function callHTTP(
  app: ASGIApp,
  target = "/",
  init: { method?: string; headers?: Headers; body?: string | Buffer; rootPath?: string } = {},
): Promise<CapturedResponse> {
  const scope = httpScope(target, init);
  const body = init.body === undefined ? Buffer.alloc(0) : Buffer.from(init.body);
  const receive = queueReceive([{ type: "http.request", body, more_body: false }]);
  const messages: SendMessage[] = [];

  await app(scope, receive, async (message) => {
    messages.push(message);
  });

  return captureResponse(messages);
}

export function captureResponse(messages: SendMessage[]): CapturedResponse {
  const start = messages.find((message) => message.type === "http.response.start");
  if (start === undefined || start.type !== "http.response.start") {
    throw new Error(`no http.response.start among ${JSON.stringify(messages.map((m) => m.type))}`);
  }

  const chunks = messages.flatMap((message) =>
    message.type === "http.response.body" && message.body ? [Buffer.from(message.body)] : [],
  );
  const body = Buffer.concat(chunks);
  const headers = start.headers ?? [];

  return {
    status: start.status,
    headers,
    body,
    text: body.toString("utf8"),
    messages,
    header: (name) => headers.find(([headerName]) => headerName === name)?.[1],
    json: () => JSON.parse(body.toString("utf8")) as unknown,
  };
}
