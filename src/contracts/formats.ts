/**
 * The one configuration of JSON Schema `format`s (issue 7, item 8): what the catalog accepts must
 * be what its published JSON Schema (`GET /v1/catalog`) accepts. Both of Flamingo's validators take
 * the string formats from ajv-formats in its `full` mode — the RFC 3339 `date-time` (offset
 * required), RFC 5321 `email` (ASCII), RFC 4122 `uuid`, RFC 3986 `uri`, … — rather than our own:
 *
 * - the catalog's TypeBox validator (`validate.ts`), through `registerFormats()` below;
 * - the HTTP routes' ajv validator, through `ajvFormatsPlugin` (platform/http.ts).
 *
 * ajv-formats is a table of checks (no validator of its own), the reference JSON Schema
 * implementations use it, and it is already what Fastify validates routes with.
 */
import { FormatRegistry } from '@sinclair/typebox';
import ajvFormats from 'ajv-formats';
import { fullFormats } from 'ajv-formats/dist/formats.js';

/** The mode of ajv-formats both validators use. */
export const FORMAT_MODE = 'full' as const;

/**
 * For Fastify's `ajv.plugins`: ajv-formats in the same mode as the catalog's formats. (Fastify's ajv
 * compiler adds ajv-formats itself unless given this plugin, named `formatsPlugin`.)
 */
// The CommonJS module is its own `default`; `.default` is what TypeScript types as the plugin.
export const ajvFormatsPlugin = [ajvFormats.default, { mode: FORMAT_MODE }] as const;

type Definition = (typeof fullFormats)[keyof typeof fullFormats];

/** A string check from an ajv format definition; undefined for number formats (TypeBox formats apply to strings). */
function stringCheck(definition: Definition): ((value: string) => boolean) | undefined {
  if (definition === true) return () => true;
  if (typeof definition === 'string') {
    const pattern = new RegExp(definition, 'u');
    return (value) => pattern.test(value);
  }
  if (definition instanceof RegExp) return (value) => definition.test(value);
  if (typeof definition === 'function') return definition as (value: string) => boolean;
  if (typeof definition === 'object' && definition !== null && 'validate' in definition) {
    if (definition.type === 'number' || ('async' in definition && definition.async)) return undefined;
    return stringCheck(definition.validate as Definition);
  }
  return undefined;
}

/** Every string format, by name, as TypeBox checks it. */
export const STRING_FORMATS: ReadonlyMap<string, (value: string) => boolean> = new Map(
  Object.entries(fullFormats).flatMap(([name, definition]) => {
    const check = stringCheck(definition);
    return check ? [[name, check] as const] : [];
  }),
);

/** Registers `STRING_FORMATS` in TypeBox's (global) format registry, replacing any other definition. */
export function registerFormats(): void {
  for (const [name, check] of STRING_FORMATS) FormatRegistry.Set(name, check);
}
