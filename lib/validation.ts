import { ImproperlyConfiguredException } from "./exceptions";

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

/**
 * Returns `value` when it is a boolean.
 *
 * @throws ImproperlyConfiguredException naming the option otherwise, because a string such as
 * "false" from an environment variable would otherwise count as true.
 */
export function validateBoolean(name: string, value: unknown): boolean {
  if (typeof value !== "boolean") {
    throw new ImproperlyConfiguredException(
      `${name} must be true or false, got ${describeValue(value)}; convert strings such as ` +
        'environment variables first, for example value === "true"',
    );
  }

  return value;
}
