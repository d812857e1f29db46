import type { ScenarioSummary } from "./results";
import type { ScenarioGroup } from "./scenarios";

const WIDTH = 900;
const LABEL_WIDTH = 300;
const VALUE_WIDTH = 110;
const ROW_HEIGHT = 26;
const BAR_HEIGHT = 16;
const TOP = 48;
const LEGEND_HEIGHT = 40;

const COLOURS: Record<ScenarioGroup, string> = {
  ceiling: "#8c8c8c",
  ours: "#2b6cb0",
  peer: "#dd6b20",
};

const LEGEND: Array<[ScenarioGroup, string]> = [
  ["ceiling", "raw uWebSockets.js"],
  ["ours", "this library"],
  ["peer", "peer libraries"],
];

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

type Attributes = Record<string, string | number>;

/** Renders one SVG element; `text` is escaped. */
function element(name: string, attributes: Attributes, text?: string): string {
  const rendered = Object.entries(attributes)
    .map(
      ([key, value]) =>
        `${key}="${typeof value === "number" ? Math.round(value * 10) / 10 : value}"`,
    )
    .join(" ");

  if (text === undefined) return `<${name} ${rendered}/>`;
  return `<${name} ${rendered}>${escapeXml(text)}</${name}>`;
}

function formatRate(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

/**
 * Renders median requests per second of every measured scenario as horizontal bars, with a
 * line from the slowest to the fastest round.
 */
export function renderChart(scenarios: ScenarioSummary[], caption: string): string {
  const measured = scenarios.filter((scenario) => scenario.status === "measured");
  const maxRate = Math.max(1, ...measured.map((scenario) => scenario.requestsPerSecond.max));
  const plotWidth = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 20;
  const scale = (value: number) => (value / maxRate) * plotWidth;
  const height = TOP + measured.length * ROW_HEIGHT + LEGEND_HEIGHT;

  const rows = measured.map((scenario, index) => {
    const y = TOP + index * ROW_HEIGHT;
    const rate = scenario.requestsPerSecond;
    const whiskerY = y + BAR_HEIGHT / 2;

    return [
      element("text", { x: LABEL_WIDTH - 8, y: y + 12, "text-anchor": "end" }, scenario.label),
      element("rect", {
        x: LABEL_WIDTH,
        y,
        width: scale(rate.median),
        height: BAR_HEIGHT,
        fill: COLOURS[scenario.group],
      }),
      element("line", {
        x1: LABEL_WIDTH + scale(rate.min),
        y1: whiskerY,
        x2: LABEL_WIDTH + scale(rate.max),
        y2: whiskerY,
        stroke: "#1a202c",
        "stroke-width": 1.5,
      }),
      element("text", { x: LABEL_WIDTH + scale(rate.max) + 6, y: y + 12 }, formatRate(rate.median)),
    ].join("\n  ");
  });

  const legendY = TOP + measured.length * ROW_HEIGHT + 20;
  const legend = LEGEND.map(([group, label], index) => {
    const x = LABEL_WIDTH + index * 170;
    return [
      element("rect", { x, y: legendY - 10, width: 12, height: 12, fill: COLOURS[group] }),
      element("text", { x: x + 18, y: legendY }, label),
    ].join("\n  ");
  });

  const svgAttributes = [
    'xmlns="http://www.w3.org/2000/svg"',
    `width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}"`,
    'font-family="sans-serif" font-size="12"',
  ].join(" ");
  const title = "Requests per second (median of rounds; line: min to max)";
  const centre = { x: WIDTH / 2, "text-anchor": "middle" };

  return [
    `<svg ${svgAttributes}>`,
    `  ${element("rect", { width: WIDTH, height, fill: "#ffffff" })}`,
    `  ${element("text", { ...centre, y: 20, "font-size": 15, "font-weight": "bold" }, title)}`,
    `  ${element("text", { ...centre, y: 36, fill: "#4a5568" }, caption)}`,
    `  ${rows.join("\n  ")}`,
    `  ${legend.join("\n  ")}`,
    "</svg>",
    "",
  ].join("\n");
}
