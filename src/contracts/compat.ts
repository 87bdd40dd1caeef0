/**
 * Compatibility check: compares the catalog with the last released snapshot and names every
 * change that would break a producer or a consumer (DESIGN.md "Versioning").
 *
 * Events are read long after they were written (replay), so compatibility runs both ways: every
 * stored event must still fit the new schema (no new required field, no narrowed type) and every
 * consumer must still find what it reads (no removed field, no widened type, no new enum value).
 * A version bump makes any schema change acceptable: the change is then reported as info.
 */
import { Type, type Static } from '@sinclair/typebox';
import { catalog, type CatalogEntry } from './catalog/index.ts';
import type { EventDefinition } from './define.ts';
import { jsonSchemaOf, type JsonSchema } from './document.ts';
import { validateAgainst, type ValidationIssue } from './validate.ts';

/** Format marker of a snapshot file. */
export const SNAPSHOT_FORMAT = 'flamingo-catalog-snapshot/1';

const SnapshotSchema = Type.Object({
  format: Type.Literal(SNAPSHOT_FORMAT),
  types: Type.Record(
    Type.String(),
    Type.Object({
      version: Type.Integer({ minimum: 1 }),
      key: Type.Array(Type.String()),
      aliases: Type.Array(Type.String()),
      schema: Type.Record(Type.String(), Type.Unknown()),
      /** seed 003's kind (`domain`, `state`, `notification`); snapshots written before issue 14 have none. */
      kind: Type.Optional(Type.Union([Type.Literal('domain'), Type.Literal('state'), Type.Literal('notification')])),
      /** Older versions still accepted during their deprecation: version → schema and end of deprecation. */
      deprecated: Type.Optional(
        Type.Record(Type.String({ pattern: '^[1-9][0-9]*$' }), Type.Object({ schema: Type.Record(Type.String(), Type.Unknown()), until: Type.String() })),
      ),
    }),
  ),
});

/** The released state of the catalog: per type its version, ordering key, aliases and JSON Schema. */
export type CatalogSnapshot = Static<typeof SnapshotSchema>;

export type CompatibilityRule =
  | 'type-removed'
  | 'type-added'
  | 'version-bumped'
  | 'version-lowered'
  | 'alias-removed'
  | 'key-changed'
  | 'field-removed'
  | 'field-retyped'
  | 'required-field-added'
  | 'field-made-required'
  | 'field-made-optional'
  | 'optional-field-added'
  | 'enum-value-added'
  | 'enum-value-removed'
  | 'constraint-tightened'
  | 'constraint-loosened';

/** One difference between two snapshots. */
export interface CatalogChange {
  /** The event type concerned. */
  readonly type: string;
  /** JSON pointer inside `data` (`*` for any array element); `/` for the type itself. */
  readonly path: string;
  readonly rule: CompatibilityRule;
  readonly message: string;
  /** True when the change needs a version bump that it did not get. */
  readonly breaking: boolean;
}

/** The current catalog as a snapshot, ready to be written as JSON. */
export function catalogSnapshot(): CatalogSnapshot {
  const types: CatalogSnapshot['types'] = {};
  for (const entry of [...catalog].sort((a, b) => a.type.localeCompare(b.type))) {
    types[entry.type] = {
      version: entry.version,
      key: [...entry.key],
      aliases: [...entry.aliases],
      schema: jsonSchemaOf(entry.schema) as Record<string, unknown>,
      kind: entry.kind,
      ...deprecatedOf(entry),
    };
  }
  return { format: SNAPSHOT_FORMAT, types };
}

function deprecatedOf(entry: CatalogEntry): Pick<CatalogSnapshot['types'][string], 'deprecated'> {
  const older = (entry as EventDefinition).deprecated ?? [];
  if (older.length === 0) return {};
  return { deprecated: Object.fromEntries(older.map((d) => [String(d.version), { schema: jsonSchemaOf(d.schema) as Record<string, unknown>, until: d.until }])) };
}

/** Thrown by `parseCatalogSnapshot` when a file is not a snapshot; `issues` name each problem. */
export class InvalidSnapshotError extends Error {
  constructor(readonly issues: readonly ValidationIssue[]) {
    super(`not a catalog snapshot: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`);
    this.name = 'InvalidSnapshotError';
  }
}

/** Checks that parsed JSON is a snapshot (e.g. one read from `catalog.snapshot.json`). */
export function parseCatalogSnapshot(value: unknown): CatalogSnapshot {
  const issues = validateAgainst(SnapshotSchema, value);
  if (issues.length > 0) throw new InvalidSnapshotError(issues);
  return value as CatalogSnapshot;
}

/** Every change from `previous` to `current`; those with `breaking: true` fail the check. */
export function compareCatalog(previous: CatalogSnapshot, current: CatalogSnapshot): CatalogChange[] {
  const changes: CatalogChange[] = [];
  for (const [type, before] of Object.entries(previous.types)) {
    const after = current.types[type];
    if (!after) {
      changes.push({ type, path: '/', rule: 'type-removed', message: `${type} was removed; producers and consumers of it break`, breaking: true });
      continue;
    }
    changes.push(...compareType(type, before, after));
  }
  for (const [type, after] of Object.entries(current.types)) {
    if (!previous.types[type]) {
      changes.push({ type, path: '/', rule: 'type-added', message: `${type} v${after.version} is new`, breaking: false });
    }
  }
  return changes;
}

type TypeSnapshot = CatalogSnapshot['types'][string];
type Found = Omit<CatalogChange, 'type' | 'breaking'> & { readonly breaking: boolean };

function compareType(type: string, before: TypeSnapshot, after: TypeSnapshot): CatalogChange[] {
  const changes: CatalogChange[] = [];
  for (const alias of before.aliases) {
    if (!after.aliases.includes(alias)) {
      changes.push({ type, path: '/', rule: 'alias-removed', message: `alias ${alias} was removed; producers sending it get 422`, breaking: true });
    }
  }
  if (after.version < before.version) {
    changes.push({ type, path: '/', rule: 'version-lowered', message: `version went down from v${before.version} to v${after.version}`, breaking: true });
    return changes;
  }
  const found: Found[] = [];
  if (before.key.join(',') !== after.key.join(',')) {
    found.push({
      path: '/',
      rule: 'key-changed',
      message: `ordering key changed from [${before.key.join(', ')}] to [${after.key.join(', ')}]`,
      breaking: true,
    });
  }
  compareNode(before.schema, after.schema, '', found);
  const bumped = after.version > before.version;
  if (bumped) {
    changes.push({ type, path: '/', rule: 'version-bumped', message: `v${before.version} → v${after.version}`, breaking: false });
  }
  for (const change of found) {
    const excused = bumped && change.breaking;
    changes.push({
      type,
      ...change,
      message: excused ? `${change.message} (allowed by the new version v${after.version})` : change.message,
      breaking: change.breaking && !bumped,
    });
  }
  return changes;
}

const pathOf = (path: string) => path || '/';
const isObject = (v: unknown): v is JsonSchema => typeof v === 'object' && v !== null && !Array.isArray(v);
const schemaAt = (node: JsonSchema, keyword: string): JsonSchema => (isObject(node[keyword]) ? (node[keyword] as JsonSchema) : {});

/** The allowed values of a literal or a union of literals, else undefined. */
function enumValues(node: JsonSchema): unknown[] | undefined {
  if ('const' in node) return [node.const];
  if (Array.isArray(node.enum)) return node.enum;
  const members = node.anyOf;
  if (Array.isArray(members) && members.length > 0 && members.every((m) => isObject(m) && 'const' in m)) {
    return members.map((m) => (m as JsonSchema).const);
  }
  return undefined;
}

/** A union's members (a non-union is its own single member), by their type name. */
function membersOf(node: JsonSchema): JsonSchema[] {
  const members = node.anyOf ?? node.oneOf;
  return Array.isArray(members) ? members.filter(isObject) : [node];
}
const typeName = (node: JsonSchema): string =>
  Array.isArray(node.type) ? node.type.join('|') : typeof node.type === 'string' ? node.type : 'any';
const typeText = (members: JsonSchema[]) => members.map(typeName).join(' | ');

/** Every difference between two JSON Schemas of one field (`path`, a pointer inside `data`), as `compareCatalog` judges it. */
export function compareFieldSchemas(before: JsonSchema, after: JsonSchema, path: string): Omit<CatalogChange, 'type'>[] {
  const out: Found[] = [];
  compareNode(before, after, path, out);
  return out;
}

function compareNode(before: JsonSchema, after: JsonSchema, path: string, out: Found[]): void {
  const beforeValues = enumValues(before);
  const afterValues = enumValues(after);
  if (beforeValues || afterValues) {
    if (!beforeValues || !afterValues) {
      out.push({ path: pathOf(path), rule: 'field-retyped', message: `${describe(before)} became ${describe(after)}`, breaking: true });
      return;
    }
    const key = (v: unknown) => JSON.stringify(v);
    const removed = beforeValues.filter((v) => !afterValues.some((w) => key(w) === key(v)));
    const added = afterValues.filter((v) => !beforeValues.some((w) => key(w) === key(v)));
    for (const v of removed) {
      out.push({ path: pathOf(path), rule: 'enum-value-removed', message: `value ${key(v)} was removed; stored events holding it no longer validate`, breaking: true });
    }
    for (const v of added) {
      out.push({ path: pathOf(path), rule: 'enum-value-added', message: `value ${key(v)} was added; consumers do not expect it`, breaking: true });
    }
    return;
  }

  const beforeMembers = membersOf(before);
  const afterMembers = membersOf(after);
  const beforeTypes = beforeMembers.map(typeName).sort().join(',');
  const afterTypes = afterMembers.map(typeName).sort().join(',');
  if (beforeTypes !== afterTypes) {
    out.push({
      path: pathOf(path),
      rule: 'field-retyped',
      message: `type ${typeText(beforeMembers)} became ${typeText(afterMembers)}`,
      breaking: true,
    });
    return;
  }
  if (beforeMembers.length > 1 || afterMembers.length > 1) {
    for (const member of beforeMembers) {
      const match = afterMembers.find((m) => typeName(m) === typeName(member));
      if (match) compareNode(member, match, path, out);
    }
    return;
  }

  if (before.format !== after.format) {
    out.push({
      path: pathOf(path),
      rule: 'field-retyped',
      message: `format ${String(before.format ?? 'none')} became ${String(after.format ?? 'none')}`,
      breaking: true,
    });
  }
  compareConstraints(before, after, path, out);
  if (typeName(before) === 'object') compareObject(before, after, path, out);
  if (typeName(before) === 'array') compareNode(schemaAt(before, 'items'), schemaAt(after, 'items'), `${path}/*`, out);
}

function compareObject(before: JsonSchema, after: JsonSchema, path: string, out: Found[]): void {
  const beforeProps = schemaAt(before, 'properties');
  const afterProps = schemaAt(after, 'properties');
  const required = (node: JsonSchema) => new Set(Array.isArray(node.required) ? (node.required as string[]) : []);
  const beforeRequired = required(before);
  const afterRequired = required(after);
  for (const [name, prop] of Object.entries(beforeProps)) {
    const fieldPath = `${path}/${name}`;
    if (!(name in afterProps)) {
      out.push({ path: fieldPath, rule: 'field-removed', message: `field ${fieldPath} was removed; consumers reading it break`, breaking: true });
      continue;
    }
    if (!beforeRequired.has(name) && afterRequired.has(name)) {
      out.push({ path: fieldPath, rule: 'field-made-required', message: `field ${fieldPath} became required; stored events without it no longer validate`, breaking: true });
    } else if (beforeRequired.has(name) && !afterRequired.has(name)) {
      out.push({ path: fieldPath, rule: 'field-made-optional', message: `field ${fieldPath} became optional; consumers relying on it break`, breaking: true });
    }
    if (isObject(prop) && isObject(afterProps[name])) compareNode(prop, afterProps[name] as JsonSchema, fieldPath, out);
  }
  for (const name of Object.keys(afterProps)) {
    if (name in beforeProps) continue;
    const fieldPath = `${path}/${name}`;
    if (afterRequired.has(name)) {
      out.push({ path: fieldPath, rule: 'required-field-added', message: `required field ${fieldPath} was added; stored events without it no longer validate`, breaking: true });
    } else {
      out.push({ path: fieldPath, rule: 'optional-field-added', message: `optional field ${fieldPath} was added`, breaking: false });
    }
  }
}

/** Lower bounds: raising one (or adding it) rejects values that were valid. */
const LOWER_BOUNDS = ['minimum', 'exclusiveMinimum', 'minLength', 'minItems', 'minProperties'] as const;
/** Upper bounds: lowering one (or adding it) rejects values that were valid. */
const UPPER_BOUNDS = ['maximum', 'exclusiveMaximum', 'maxLength', 'maxItems', 'maxProperties'] as const;
/** Constraints whose change cannot be ordered: any change may reject valid values. */
const OPAQUE = ['pattern', 'multipleOf', 'uniqueItems'] as const;

function compareConstraints(before: JsonSchema, after: JsonSchema, path: string, out: Found[]): void {
  const at = pathOf(path);
  const bound = (keyword: string, lower: boolean) => {
    const b = before[keyword];
    const a = after[keyword];
    if (b === a) return;
    const tightened =
      typeof a === 'number' && (typeof b !== 'number' || (lower ? a > b : a < b));
    out.push({
      path: at,
      rule: tightened ? 'constraint-tightened' : 'constraint-loosened',
      message: `${keyword} ${String(b ?? 'none')} became ${String(a ?? 'none')}`,
      breaking: tightened,
    });
  };
  for (const keyword of LOWER_BOUNDS) bound(keyword, true);
  for (const keyword of UPPER_BOUNDS) bound(keyword, false);
  for (const keyword of OPAQUE) {
    const b = before[keyword];
    const a = after[keyword];
    if (JSON.stringify(b) === JSON.stringify(a)) continue;
    const loosened = a === undefined || (keyword === 'uniqueItems' && a === false);
    out.push({
      path: at,
      rule: loosened ? 'constraint-loosened' : 'constraint-tightened',
      message: `${keyword} ${JSON.stringify(b ?? null)} became ${JSON.stringify(a ?? null)}`,
      breaking: !loosened,
    });
  }
}

function describe(node: JsonSchema): string {
  const values = enumValues(node);
  if (values) return values.length === 1 ? `constant ${JSON.stringify(values[0])}` : `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
  return `type ${typeText(membersOf(node))}`;
}
