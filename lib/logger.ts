import { ImproperlyConfiguredException } from "./exceptions";
import { describeValue } from "./validation";

/**
 * The logging interface the server and middleware write to: a subset of pino's, so a pino
 * logger can be passed as it is. Each method takes a context object first, then a message.
 */
export interface Logger {
  debug(context: object, message?: string): void;
  info(context: object, message?: string): void;
  warn(context: object, message?: string): void;
  error(context: object, message?: string): void;
}

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

const LEVEL_VALUES: Record<LogLevel, number> = {
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  silent: Infinity,
};

function serializeContext(context: object): Record<string, unknown> {
  const fields: Record<string, unknown> = {};

  for (const [key, value] of Object.entries(context)) {
    fields[key] = value instanceof Error ? serializeError(value) : value;
  }

  return fields;
}

function serializeError(error: Error): Record<string, unknown> {
  return { type: error.name, message: error.message, stack: error.stack };
}

/**
 * Creates a logger that writes one JSON object per line to stderr, with pino's field names
 * (`level`, `time`, `msg`), dropping entries below `level`.
 */
export function createLogger(level: LogLevel = "info"): Logger {
  const threshold = LEVEL_VALUES[level];

  const write = (levelName: Exclude<LogLevel, "silent">, context: object, message?: string) => {
    const value = LEVEL_VALUES[levelName];
    if (value < threshold) return;

    const entry = { level: value, time: Date.now(), ...serializeContext(context), msg: message };
    process.stderr.write(JSON.stringify(entry) + "\n");
  };

  return {
    debug: (context, message) => write("debug", context, message),
    info: (context, message) => write("info", context, message),
    warn: (context, message) => write("warn", context, message),
    error: (context, message) => write("error", context, message),
  };
}

/** A logger that drops everything. */
export const silentLogger: Logger = createLogger("silent");

/**
 * Creates the logger used when none is given, with the level from the `LOG_LEVEL` environment
 * variable, `info` by default.
 */
export function defaultLogger(): Logger {
  const requested = process.env.LOG_LEVEL as LogLevel | undefined;
  const level = requested && requested in LEVEL_VALUES ? requested : "info";
  return createLogger(level);
}

const LOGGER_METHODS = ["debug", "info", "warn", "error"] as const;

/**
 * Returns `logger` when it has the four methods this library calls.
 *
 * @throws ImproperlyConfiguredException naming the option and the fix otherwise.
 */
export function validateLogger(logger: Logger, option = "logger"): Logger {
  const valid =
    logger !== null &&
    typeof logger === "object" &&
    LOGGER_METHODS.every((method) => typeof logger[method] === "function");

  if (!valid) {
    throw new ImproperlyConfiguredException(
      `${option} must have debug, info, warn and error functions, got ${describeValue(logger)}; ` +
        "pass a pino logger, createLogger() or silentLogger",
    );
  }

  return logger;
}
