import type { MachineInfo } from "./environment";
import type { RssOverRequests, WebSocketMemory } from "./memory";
import type { MicroFileOutcome } from "./micro";
import type { RoundResult } from "./scenario-round";
import type { ScenarioGroup } from "./scenarios";
import type { Spread } from "./stats";

export interface ScenarioSummary {
  id: string;
  label: string;
  group: ScenarioGroup;
  status: "measured" | "skipped" | "failed";
  /** Reason the scenario was skipped or failed. */
  reason: string | null;
  rounds: RoundResult[];
  requestsPerSecond: Spread;
  p50Millis: Spread;
  p99Millis: Spread;
  cpuMicrosPerRequest: Spread;
  serverBusy: Spread;
  rss: Spread;
  /** Median req/s over the median req/s of raw uWS hello. */
  ratioToRaw: number | null;
  /** Median req/s over the median req/s of the fastify scenario doing the same session work. */
  ratioToFastify: number | null;
  fastifyPeer: string | null;
}

export interface TargetOutcome {
  description: string;
  /** The measured ratio, or null when a scenario it needs was not measured. */
  ratio: number | null;
  threshold: number;
  comparison: "at most" | "at least";
  met: boolean | null;
}

export type WebSocketOutcome =
  | ({ status: "measured" } & WebSocketMemory)
  | { status: "skipped" | "failed"; scenario: string; label: string; reason: string };

export type RssOutcome =
  | ({ status: "measured" } & RssOverRequests)
  | { status: "skipped" | "failed"; scenario: string; reason: string };

export interface BenchResults {
  generatedAt: string;
  smoke: boolean;
  machine: MachineInfo;
  packages: Record<string, string>;
  tools: { loader: string; loaderVersion: string; redis: string };
  /**
   * One-minute load average of the machine when the run started and ended. Well above zero
   * means other processes competed for the CPUs and the numbers are lower than they would be.
   */
  loadAverage: { start: number; end: number };
  /** Wall time of the whole run, in seconds. */
  runSeconds: number;
  settings: {
    durationSeconds: number;
    warmupSeconds: number;
    rounds: number;
    connections: number;
    serverCpus: string | null;
    loadCpus: string | null;
  };
  scenarios: ScenarioSummary[];
  targets: TargetOutcome[];
  rssOverRequests: RssOutcome;
  webSockets: WebSocketOutcome[];
  micro: MicroFileOutcome[];
  /** Every failure of the run; a non-empty list makes `npm run bench` exit with code 1. */
  failures: string[];
}
