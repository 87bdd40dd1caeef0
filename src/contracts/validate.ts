import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { catalog, type CatalogEntry } from './catalog/index.ts';
import type { EventDefinition } from './define.ts';
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

/** The `dataschema` attribute of a type's current version, or of `version`. */
export function dataschemaOf(definition: Pick<CatalogEntry, 'type' | 'version'>, version = definition.version): string {
  return `flamingo:${definition.type}/v${version}`;
}

/** One version of a type producers may publish: its number, `data` schema and `dataschema` attribute. */
export interface DataVersion {
  readonly version: number;
  readonly schema: TSchema;
  readonly dataschema: string;
  /** End of its deprecation, for an older version. */
  readonly until?: string;
}

/**
 * The versions of `definition` producers may publish at `now` (issue 14): the current one, then
 * every deprecated one whose `until` is still ahead.
 */
export function acceptedVersions(definition: CatalogEntry, now = Date.now()): DataVersion[] {
  const current: DataVersion = { version: definition.version, schema: definition.schema, dataschema: dataschemaOf(definition) };
  const older = ((definition as EventDefinition).deprecated ?? [])
    .filter((d) => Date.parse(d.until) > now)
    .map((d) => ({ version: d.version, schema: d.schema, dataschema: dataschemaOf(definition, d.version), until: d.until }));
  return [current, ...older];
}

/** The accepted version `dataschema` names (absent: the current one), or undefined when it names none (unknown, or past its deprecation). */
export function dataVersionOf(definition: CatalogEntry, dataschema: string | undefined, now = Date.now()): DataVersion | undefined {
  const versions = acceptedVersions(definition, now);
  return dataschema === undefined ? versions[0] : versions.find((v) => v.dataschema === dataschema);
}

/**
 * The schema a stored event is checked against before a handler sees it: its version's while the
 * catalog still describes that version (deprecated, even past `until`: the log keeps what was
 * accepted), else the current one.
 */
export function storedSchemaOf(definition: CatalogEntry, dataschema: string | undefined): TSchema {
  const older = ((definition as EventDefinition).deprecated ?? []).find((d) => dataschemaOf(definition, d.version) === dataschema);
  return older?.schema ?? definition.schema;
}
