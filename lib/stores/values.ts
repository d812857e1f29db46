/**
 * Argument checks and conversions shared by the store implementations. Not part of the public API.
 */

import { ImproperlyConfiguredException, StoreError } from "../exceptions";

/** Largest expiry in seconds whose value in milliseconds is still a safe integer. */
export const MAX_EXPIRY_SECONDS = Math.floor(Number.MAX_SAFE_INTEGER / 1000);

/** Encodes a string as UTF-8, or copies bytes so that later changes by the caller cannot leak. */
export function toBytes(value: string | Uint8Array): Buffer {
  if (typeof value === "string") return Buffer.from(value, "utf8");

  if (value instanceof Uint8Array) return Buffer.from(value);

  throw new TypeError(`value must be a string or a Uint8Array, got ${describeType(value)}`);
}

/**
 * Converts an expiry in seconds to whole milliseconds, rounding up. Returns `null` when `seconds`
 * is `undefined` or `null`, which means "no expiry".
 *
 * @throws TypeError when `seconds` is not a number.
 * @throws RangeError when `seconds` is not finite, not positive or above `MAX_EXPIRY_SECONDS`.
 */
export function toExpiryMilliseconds(
  seconds: number | null | undefined,
  argumentName: "expiresIn" | "renewFor",
): number | null {
  if (seconds === undefined || seconds === null) return null;

  if (typeof seconds !== "number") {
    throw new TypeError(
      `${argumentName} must be a number of seconds, got ${describeType(seconds)}; ` +
        "pass undefined for no expiry",
    );
  }

  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_EXPIRY_SECONDS) {
    throw new RangeError(
      `${argumentName} must be a positive number of seconds no greater than ` +
        `${MAX_EXPIRY_SECONDS}, got ${seconds}; pass undefined for no expiry`,
    );
  }

  return Math.ceil(seconds * 1000);
}

/**
 * Returns the whole seconds left until `expiresAt`, rounded up so that an entry that is still
 * live never reports 0. Both arguments are milliseconds since the epoch.
 */
export function secondsUntil(expiresAt: number, now: number): number {
  return Math.ceil((expiresAt - now) / 1000);
}

/** Wraps a backend failure in a `StoreError` that names the store and the operation. */
export function toStoreError(store: string, operation: string, error: unknown): StoreError {
  if (error instanceof StoreError) return error;

  return new StoreError(store, operation, error);
}

/** Checks the `now` option of a store: a clock in milliseconds since the epoch. */
export function validateClock(now: (() => number) | undefined): () => number {
  if (now === undefined) return Date.now;

  if (typeof now === "function") return now;

  throw new ImproperlyConfiguredException(
    `now must be a function that returns milliseconds since the epoch, got ${typeof now}`,
  );
}

function describeType(value: unknown): string {
  if (value === null) return "null";

  if (typeof value === "object") return value.constructor?.name ?? "object";

  return typeof value;
}
