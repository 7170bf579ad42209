// Workflow-safe core: every edit here is a workflow change, covered by the replay test (test/replay.test.ts).
import { ApplicationFailure } from '@temporalio/common';

/**
 * Parameter specs and their validation. Pure (no Node modules): the workflow checks a whole request with these
 * before anything runs, and each activity checks its own input again with the same specs.
 */
export type ParamSpec =
  | { type: 'int' | 'number'; min: number; max: number; default?: number; optional?: true; help: string }
  | { type: 'enum'; values: readonly string[]; default?: string; optional?: true; help: string }
  | { type: 'string'; maxLength: number; default?: string; optional?: true; help: string }
  | { type: 'color'; default?: string; optional?: true; help: string }
  | { type: 'boolean'; default?: boolean; optional?: true; help: string };

type ValueOf<S> = S extends { type: 'int' | 'number' }
  ? number
  : S extends { type: 'enum'; values: readonly (infer V)[] }
    ? V
    : S extends { type: 'boolean' }
      ? boolean
      : string;

export type ParamSpecs = Record<string, ParamSpec>;
export type Params<P extends ParamSpecs> = {
  [K in keyof P]: P[K] extends { optional: true } ? ValueOf<P[K]> | undefined : ValueOf<P[K]>;
};

/** The error type every bad-input failure carries; retry policies list it as non-retryable. */
export const INVALID_INPUT = 'InvalidInput';

export function invalidInput(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, INVALID_INPUT);
}

const COLOR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;

function describe(value: unknown): string {
  return `${JSON.stringify(value) ?? String(value)} (${value === null ? 'null' : typeof value})`;
}

function expected(spec: ParamSpec): string {
  switch (spec.type) {
    case 'int':
      return `an integer between ${spec.min} and ${spec.max}`;
    case 'number':
      return `a number between ${spec.min} and ${spec.max}`;
    case 'enum':
      return `one of ${spec.values.join(', ')}`;
    case 'string':
      return `a non-empty string of at most ${spec.maxLength} characters`;
    case 'color':
      return 'a hex colour like #ff8800';
    case 'boolean':
      return 'true or false';
  }
}

/** Accepts the values CLI flags produce ("12", "true") as well as JSON values. */
export function coerce(spec: ParamSpec, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if ((spec.type === 'int' || spec.type === 'number') && value.trim() !== '' && Number.isFinite(Number(value))) {
    return Number(value);
  }
  if (spec.type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

function valid(spec: ParamSpec, value: unknown): boolean {
  switch (spec.type) {
    case 'int':
    case 'number':
      return (
        typeof value === 'number' &&
        (spec.type === 'number' ? Number.isFinite(value) : Number.isInteger(value)) &&
        value >= spec.min &&
        value <= spec.max
      );
    case 'enum':
      return typeof value === 'string' && spec.values.includes(value);
    case 'string':
      return typeof value === 'string' && value.length > 0 && value.length <= spec.maxLength;
    case 'color':
      return typeof value === 'string' && COLOR.test(value);
    case 'boolean':
      return typeof value === 'boolean';
  }
}

/**
 * Validates raw parameters against specs: unknown names, missing required values and out-of-range values all fail
 * with a message naming the operation, the parameter, what was expected and what was received.
 */
export function parseParams<P extends ParamSpecs>(operation: string, specs: P, raw: unknown): Params<P> {
  if (raw !== undefined && (raw === null || typeof raw !== 'object' || Array.isArray(raw))) {
    throw invalidInput(`${operation}: expected parameters to be an object, received ${describe(raw)}`);
  }
  const given = (raw ?? {}) as Record<string, unknown>;
  for (const name of Object.keys(given)) {
    if (!Object.prototype.hasOwnProperty.call(specs, name)) {
      const known = Object.keys(specs);
      throw invalidInput(
        `${operation}: unknown parameter "${name}"; expected ${known.length ? `one of ${known.join(', ')}` : 'no parameters'}`,
      );
    }
  }
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const value = coerce(spec, given[name]);
    if (value === undefined) {
      if (spec.default === undefined && !spec.optional) {
        throw invalidInput(`${operation}: missing required parameter ${name}; expected ${expected(spec)}`);
      }
      out[name] = spec.default;
      continue;
    }
    if (!valid(spec, value)) {
      throw invalidInput(`${operation}: expected ${name} to be ${expected(spec)}, received ${describe(given[name])}`);
    }
    out[name] = value;
  }
  return out as Params<P>;
}

/** One line per parameter, for --help and the README. */
export function describeParams(specs: ParamSpecs): string[] {
  return Object.entries(specs).map(([name, spec]) => {
    const dflt =
      spec.default !== undefined ? ` (default ${spec.default})` : spec.optional ? ' (optional)' : ' (required)';
    return `${name}: ${expected(spec)}${dflt}. ${spec.help}`;
  });
}
