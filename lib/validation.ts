/**
 * Describes an option value for a configuration error: strings quoted, everything else by kind
 * or as text. Objects are never printed, so a secret inside one cannot reach a message.
 */
export function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return "an array";
  if (value !== null && typeof value === "object") return "an object";

  return String(value);
}
