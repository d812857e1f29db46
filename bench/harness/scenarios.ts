/** Who a scenario's server belongs to, which sets its colour in the chart. */
export type ScenarioGroup = "ceiling" | "ours" | "peer";

/** What the harness checks before measuring, so every measured request does the full work. */
export type ScenarioCheck =
  | { kind: "hello" }
  | {
      kind: "session";
      /** The counter in the body when the primed cookie is replayed. */
      replayBody: string;
      /** Whether the replayed request gets a Set-Cookie, i.e. the session is written again. */
      replaySetsCookie: boolean;
    };

export interface Scenario {
  id: string;
  label: string;
  group: ScenarioGroup;
  /** The server script, relative to bench/servers, without extension. */
  server: string;
  variant: string;
  check: ScenarioCheck;
  /** Library files the server needs, relative to the repository root. */
  requires: string[];
  needsRedis?: boolean;
  /** The fastify + secure-session scenario doing the same session work, for the ratio column. */
  fastifyPeer?: string;
}

const SERVER_FILE = "lib/server/index.ts";
const CLIENT_SIDE_FILE = "lib/middleware/session/client-side.ts";
const SERVER_SIDE_FILES = ["lib/middleware/session/server-side.ts", "lib/stores/memory.ts"];

/** Counter scenarios: the primed request stored 1, so the replay reads 1 and answers 2. */
const WRITES = { kind: "session", replayBody: "2", replaySetsCookie: true } as const;
const READS = { kind: "session", replayBody: "1", replaySetsCookie: false } as const;

export const RAW_UWS_ID = "uws-raw-hello";
export const FASTIFY_COUNTER_ID = "fastify-secure-session-counter";

export const SCENARIOS: readonly Scenario[] = [
  {
    id: RAW_UWS_ID,
    label: "raw uWS, hello",
    group: "ceiling",
    server: "uws-raw",
    variant: "hello",
    check: { kind: "hello" },
    requires: [],
  },
  {
    id: "serve-hello",
    label: "serve(), ASGI hello",
    group: "ours",
    server: "asgi",
    variant: "hello",
    check: { kind: "hello" },
    requires: [SERVER_FILE],
  },
  {
    id: "client-side-counter",
    label: "client-side session, counter",
    group: "ours",
    server: "asgi",
    variant: "client-counter",
    check: WRITES,
    requires: [SERVER_FILE, CLIENT_SIDE_FILE],
    fastifyPeer: FASTIFY_COUNTER_ID,
  },
  {
    id: "client-side-read",
    label: "client-side session, read-only",
    group: "ours",
    server: "asgi",
    variant: "client-read",
    check: READS,
    requires: [SERVER_FILE, CLIENT_SIDE_FILE],
    fastifyPeer: "fastify-secure-session-read",
  },
  {
    id: "client-side-3kb",
    label: "client-side session, ~3 KB counter",
    group: "ours",
    server: "asgi",
    variant: "client-large",
    check: WRITES,
    requires: [SERVER_FILE, CLIENT_SIDE_FILE],
    fastifyPeer: "fastify-secure-session-3kb",
  },
  {
    id: "server-side-memory",
    label: "server-side session, MemoryStore",
    group: "ours",
    server: "asgi",
    variant: "server-memory",
    check: WRITES,
    requires: [SERVER_FILE, ...SERVER_SIDE_FILES],
    fastifyPeer: FASTIFY_COUNTER_ID,
  },
  {
    id: "server-side-redis",
    label: "server-side session, RedisStore",
    group: "ours",
    server: "asgi",
    variant: "server-redis",
    check: WRITES,
    requires: [SERVER_FILE, ...SERVER_SIDE_FILES, "lib/stores/redis.ts"],
    needsRedis: true,
    fastifyPeer: FASTIFY_COUNTER_ID,
  },
  {
    id: FASTIFY_COUNTER_ID,
    label: "fastify + secure-session, counter",
    group: "peer",
    server: "fastify",
    variant: "counter",
    check: WRITES,
    requires: [],
  },
  {
    id: "fastify-secure-session-read",
    label: "fastify + secure-session, read-only",
    group: "peer",
    server: "fastify",
    variant: "read",
    check: READS,
    requires: [],
  },
  {
    id: "fastify-secure-session-3kb",
    label: "fastify + secure-session, ~3 KB counter",
    group: "peer",
    server: "fastify",
    variant: "large",
    check: WRITES,
    requires: [],
  },
  {
    id: "express-cookie-session-counter",
    label: "express + cookie-session, counter",
    group: "peer",
    server: "express-cookie-session",
    variant: "counter",
    check: WRITES,
    requires: [],
  },
  {
    id: "express-cookie-session-read",
    label: "express + cookie-session, read-only",
    group: "peer",
    server: "express-cookie-session",
    variant: "read",
    check: READS,
    requires: [],
  },
  {
    id: "express-cookie-session-3kb",
    label: "express + cookie-session, ~3 KB counter",
    group: "peer",
    server: "express-cookie-session",
    variant: "large",
    check: WRITES,
    requires: [],
  },
  {
    id: "express-session-memory-counter",
    label: "express + express-session, MemoryStore",
    group: "peer",
    server: "express-session",
    variant: "counter",
    // Without `rolling` or a maxAge, express-session sends the cookie only for a new session.
    check: { kind: "session", replayBody: "2", replaySetsCookie: false },
    requires: [],
  },
];
