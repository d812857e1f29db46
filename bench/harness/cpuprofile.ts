import { readFileSync } from "node:fs";

/** The parts of V8's `.cpuprofile` JSON (written by `node --cpu-prof`) used here. */
interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  }>;
  startTime: number;
  endTime: number;
  samples: number[];
  /** Microseconds between consecutive samples; the first is relative to `startTime`. */
  timeDeltas: number[];
}

export interface SelfTimeSummary {
  /** Sampled time spent running code, idle time excluded. */
  busyMicros: number;
  idleMicros: number;
  /** The functions with the most self time, highest first. */
  entries: SelfTimeEntry[];
}

export interface SelfTimeEntry {
  functionName: string;
  location: string;
  selfMicros: number;
  /** Share of the busy (not idle) sampled time, from 0 to 1. */
  share: number;
}

function describeLocation(url: string, lineNumber: number): string {
  if (url === "") return "(native)";

  const path = url.replace(/^file:\/\//, "");
  const repository = path.indexOf("/node_modules/");
  const trimmed =
    repository === -1 ? path.replace(process.cwd() + "/", "") : path.slice(repository + 1);

  // Lines of TypeScript files count in ts-node's transpiled output, not in the source, and
  // would mislead, so those locations name the file only.
  if (trimmed.endsWith(".ts")) return trimmed;

  // V8 numbers lines from 0.
  return `${trimmed}:${lineNumber + 1}`;
}

/**
 * Sums the self time of each function in a `.cpuprofile`: each sample is charged to the node
 * on top of the stack, for the time until the next sample. Nodes of the same function (same
 * name, file and line) are merged, as Chrome's bottom-up view does.
 */
export function topSelfTime(file: string, limit: number): SelfTimeSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const totals = new Map<string, SelfTimeEntry>();
  let busyMicros = 0;
  let idleMicros = 0;

  for (let i = 0; i < profile.samples.length; i++) {
    // The time from this sample to the next belongs to this sample's node.
    const micros = profile.timeDeltas[i + 1] ?? 0;
    const node = nodes.get(profile.samples[i]);
    if (!node || micros <= 0) continue;

    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === "(idle)") {
      idleMicros += micros;
      continue;
    }

    const name = functionName || "(anonymous)";
    const location = describeLocation(url, lineNumber);
    const key = `${name}\u0000${location}`;
    const entry = totals.get(key) ?? { functionName: name, location, selfMicros: 0, share: 0 };

    entry.selfMicros += micros;
    totals.set(key, entry);
    busyMicros += micros;
  }

  const entries = [...totals.values()].sort((a, b) => b.selfMicros - a.selfMicros);
  for (const entry of entries) entry.share = busyMicros > 0 ? entry.selfMicros / busyMicros : 0;

  return { busyMicros, idleMicros, entries: entries.slice(0, limit) };
}
