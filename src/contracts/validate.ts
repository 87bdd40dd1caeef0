import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { catalog, type CatalogEntry } from './catalog/index.ts';
import { registerFormats } from './formats.ts';

/** One broken rule: where (JSON pointer inside the validated value) and what. */
export interface ValidationIssue {
  readonly path: string;
  readonly message: string;
}

// The formats of the published JSON Schema (ajv-formats, full mode), not formats of our own.
registerFormats();

const byName = new Map<string, CatalogEntry>();
for (const entry of catalog) {
  byName.set(entry.type, entry);
  for (const alias of entry.aliases) byName.set(alias, entry);
}

/** The catalog entry of a type name or one of its aliases. */
export function findDefinition(typeOrAlias: string): CatalogEntry | undefined {
  return byName.get(typeOrAlias);
}

const checks = new WeakMap<TSchema, TypeCheck<TSchema>>();
function checkerOf(schema: TSchema): TypeCheck<TSchema> {
  let check = checks.get(schema);
  if (!check) {
    check = TypeCompiler.Compile(schema);
    checks.set(schema, check);
  }
  return check;
}

/** Checks a value against a schema; empty when it conforms. */
export function validateAgainst(schema: TSchema, value: unknown): ValidationIssue[] {
  const check = checkerOf(schema);
  if (check.Check(value)) return [];
  return [...check.Errors(value)].map((e) => ({ path: e.path || '/', message: e.message }));
}

/** Checks `data` against its type's schema; empty when it conforms. */
export function validateData(definition: CatalogEntry, data: unknown): ValidationIssue[] {
  return validateAgainst(definition.schema, data);
}

/** The ordering key of an event: the first of the definition's key fields present in `data`. */
export function keyOf(definition: CatalogEntry, data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  for (const field of definition.key) {
    const value = (data as Record<string, unknown>)[field];
    if (value !== undefined && value !== null && value !== '') return String(value);
  }
  return undefined;
}

/** `<noun>/<key>`, or undefined without a key. */
export function subjectOf(definition: CatalogEntry, data: unknown): string | undefined {
  const key = keyOf(definition, data);
  return key === undefined ? undefined : `${definition.subject}/${key}`;
}

/** The `dataschema` attribute of a type's current version. */
export function dataschemaOf(definition: CatalogEntry): string {
  return `flamingo:${definition.type}/v${definition.version}`;
}
