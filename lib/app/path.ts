import { ImproperlyConfiguredException } from "../exceptions";

/** A path parameter type, as in Litestar's `{name:type}` templates. */
export type PathParameterType = "str" | "int" | "float" | "uuid" | "path";

interface ParameterConverter {
  /** Source of a regular expression that matches the raw text of the parameter. */
  pattern: string;
  /** Converts matched text, or returns undefined when it is out of range, so no route matches. */
  convert(text: string): unknown;
}

const CONVERTERS: Record<PathParameterType, ParameterConverter> = {
  str: { pattern: "[^/]+", convert: (text) => text },
  int: { pattern: "[+-]?\\d+", convert: toSafeInteger },
  float: {
    pattern: "[+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?",
    convert: (text) => Number(text),
  },
  uuid: {
    pattern: "[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}",
    convert: toCanonicalUuid,
  },
  // The leading slash belongs to the value, as in Litestar: `/files/{p:path}` gives "/a/b".
  path: { pattern: "/.+", convert: (text) => text },
};

/** Rank of each segment type when several routes match a path: literals first, `path` last. */
const SEGMENT_RANKS: Record<PathParameterType | "literal", number> = {
  literal: 0,
  int: 1,
  float: 1,
  uuid: 1,
  str: 2,
  path: 3,
};

export interface PathParameter {
  name: string;
  type: PathParameterType;
  convert(text: string): unknown;
}

/** A compiled route path template such as `/users/{id:int}`. */
export interface PathTemplate {
  /** The normalized template: one leading slash, no trailing slash, no empty segments. */
  readonly path: string;
  /** Parameters in order of appearance; empty for a static path. */
  readonly parameters: readonly PathParameter[];
  /** Anchored expression with one group per parameter; null for a static path. */
  readonly pattern: RegExp | null;
  /** One rank per segment, for ordering routes that could match the same request path. */
  readonly ranks: readonly number[];
}

const PARAMETER_SEGMENT = /^\{([^{}:]*)(?::([^{}]*))?\}$/;
const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const REGEX_SPECIAL = /[.*+?^${}()|[\]\\]/g;

/**
 * Collapses repeated slashes, adds a leading slash and removes a trailing one, as Litestar
 * normalizes both templates and request paths.
 */
export function normalizePath(path: string): string {
  if (path === "/" || (path.startsWith("/") && !path.endsWith("/") && !path.includes("//"))) {
    return path;
  }

  const segments = path.split("/").filter((segment) => segment !== "");
  return `/${segments.join("/")}`;
}

/**
 * Parses a Litestar-style path template. Each parameter fills a whole segment and names its
 * type: `{id:int}`, `{name:str}`, `{value:float}`, `{key:uuid}`, or `{rest:path}` as the last
 * segment.
 *
 * @throws ImproperlyConfiguredException naming the template and the faulty segment.
 */
export function compilePathTemplate(template: string): PathTemplate {
  if (typeof template !== "string") {
    throw new ImproperlyConfiguredException(
      `route path must be a string such as "/users/{id:int}", got ${typeof template}`,
    );
  }

  const path = normalizePath(template);
  const segments = path === "/" ? [] : path.slice(1).split("/");
  const parameters: PathParameter[] = [];
  const ranks: number[] = [];
  let source = "";

  segments.forEach((segment, index) => {
    const parameter = parseSegment(template, segment, index === segments.length - 1);

    if (parameter === null) {
      source += `/${segment.replace(REGEX_SPECIAL, "\\$&")}`;
      ranks.push(SEGMENT_RANKS.literal);
      return;
    }

    if (parameters.some((existing) => existing.name === parameter.name)) {
      throw new ImproperlyConfiguredException(
        `route path ${JSON.stringify(template)} uses the parameter name ` +
          `${JSON.stringify(parameter.name)} twice; give each parameter its own name`,
      );
    }

    parameters.push(parameter);
    ranks.push(SEGMENT_RANKS[parameter.type]);
    const pattern = CONVERTERS[parameter.type].pattern;
    source += parameter.type === "path" ? `(${pattern})` : `/(${pattern})`;
  });

  const pattern = parameters.length === 0 ? null : new RegExp(`^${source}$`);
  return Object.freeze({ path, parameters: Object.freeze(parameters), pattern, ranks });
}

function parseSegment(template: string, segment: string, isLast: boolean): PathParameter | null {
  const match = PARAMETER_SEGMENT.exec(segment);

  if (match === null) {
    if (segment.includes("{") || segment.includes("}")) {
      throw new ImproperlyConfiguredException(
        `route path ${JSON.stringify(template)} has the segment ${JSON.stringify(segment)}; a ` +
          "path parameter must fill a whole segment, as in /files/{name:str}",
      );
    }
    return null;
  }

  const [, name, type] = match;

  if (!PARAMETER_NAME.test(name) || name === "__proto__") {
    throw new ImproperlyConfiguredException(
      `route path ${JSON.stringify(template)} has the parameter name ${JSON.stringify(name)}; ` +
        "use letters, digits and underscores, starting with a letter or underscore",
    );
  }

  if (type === undefined || !(type in CONVERTERS)) {
    throw new ImproperlyConfiguredException(
      `route path ${JSON.stringify(template)}: parameter ${JSON.stringify(name)} has the type ` +
        `${JSON.stringify(type ?? "")}; write {${name}:TYPE} with TYPE one of ` +
        Object.keys(CONVERTERS).join(", "),
    );
  }

  const parameterType = type as PathParameterType;
  if (parameterType === "path" && !isLast) {
    throw new ImproperlyConfiguredException(
      `route path ${JSON.stringify(template)}: the path parameter ${JSON.stringify(name)} must ` +
        "be the last segment, because it matches the rest of the path",
    );
  }

  return { name, type: parameterType, convert: CONVERTERS[parameterType].convert };
}

/**
 * Matches a normalized request path against a dynamic template and converts the parameters.
 * Returns null when the path does not match or a value is out of range.
 */
export function matchPathTemplate(
  template: PathTemplate,
  path: string,
): Record<string, unknown> | null {
  const match = template.pattern?.exec(path);
  if (match == null) return null;

  const values: Record<string, unknown> = {};

  for (let i = 0; i < template.parameters.length; i++) {
    const parameter = template.parameters[i];
    const value = parameter.convert(match[i + 1]);
    if (value === undefined) return null;

    values[parameter.name] = value;
  }

  return values;
}

/** Orders templates so that the more specific one is tried first, segment by segment. */
export function compareTemplates(a: PathTemplate, b: PathTemplate): number {
  const length = Math.min(a.ranks.length, b.ranks.length);

  for (let i = 0; i < length; i++) {
    if (a.ranks[i] !== b.ranks[i]) return a.ranks[i] - b.ranks[i];
  }

  return 0;
}

function toSafeInteger(text: string): number | undefined {
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

function toCanonicalUuid(text: string): string {
  const hex = text.replace(/-/g, "").toLowerCase();
  const groups = [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20)];
  return `${groups.join("-")}-${hex.slice(20)}`;
}
