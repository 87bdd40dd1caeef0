/**
 * A component's own settings, declared where they are used (a service's `settings.ts`) as a
 * TypeBox object whose keys are the environment variable names, and read from the environment
 * (or `flamingo.config.json`) here: so platform/config.ts lists only the platform's settings.
 *
 * Supported property schemas: `Type.Integer` / `Type.Number` (with `minimum`/`maximum`),
 * `Type.String`, `Type.Boolean`; each with a `default` (used when unset or blank) and a
 * `description` (shown in problems and the README).
 */
import type { Static, TObject, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ConfigError } from './config.ts';

/** A settings schema: `Type.Object({ FLAMINGO_X_MS: Type.Integer({ minimum: 1, default: 1000 }) })`. */
export type SettingsSchema = TObject;

interface Bounds {
  readonly type?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly default?: unknown;
}

/** The rule a value broke, in the words of platform/config.ts (`must be a whole number from 0 to 10`). */
function ruleOf(schema: TSchema & Bounds): string {
  const kind = schema.type === 'integer' ? 'a whole number' : schema.type === 'number' ? 'a number' : schema.type === 'boolean' ? '1/true/yes/on or 0/false/no/off' : 'text';
  if (schema.minimum !== undefined && schema.maximum !== undefined) return `must be ${kind} from ${schema.minimum} to ${schema.maximum}`;
  if (schema.minimum !== undefined) return `must be ${kind}, at least ${schema.minimum}`;
  if (schema.maximum !== undefined) return `must be ${kind}, at most ${schema.maximum}`;
  return `must be ${kind}`;
}

function parse(schema: TSchema & Bounds, raw: string): unknown {
  const text = raw.trim();
  if (schema.type === 'integer' || schema.type === 'number') return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
  if (schema.type === 'boolean') {
    if (['1', 'true', 'yes', 'on'].includes(text.toLowerCase())) return true;
    if (['0', 'false', 'no', 'off'].includes(text.toLowerCase())) return false;
    return undefined;
  }
  return raw;
}

/**
 * Reads `schema`'s settings from `env`: each unset or blank one takes its default. Problems (one
 * line per bad setting, naming it and its rule) are added to `problems`; what is returned then is
 * not to be used.
 */
export function readSettingsInto<S extends SettingsSchema>(schema: S, env: Readonly<Record<string, string | undefined>>, problems: string[]): Static<S> {
  const values: Record<string, unknown> = {};
  for (const [name, property] of Object.entries(schema.properties) as [string, TSchema & Bounds][]) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') {
      values[name] = property.default;
      continue;
    }
    const value = parse(property, raw);
    if (value === undefined || !Value.Check(property, value)) {
      problems.push(`${name}: ${ruleOf(property)}, got "${raw}"`);
      continue;
    }
    values[name] = value;
  }
  return values as Static<S>;
}

/** Reads `schema`'s settings from `env`; a bad one throws `ConfigError` naming each. */
export function readSettings<S extends SettingsSchema>(schema: S, env: Readonly<Record<string, string | undefined>>): Static<S> {
  const problems: string[] = [];
  const settings = readSettingsInto(schema, env, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return settings;
}
