/**
 * The consumer side of `flamingo catalog check` (issue 14, seed 003's consumer-driven contracts):
 * what each declared consumer reads is held against the catalog, and each type is held to its kind.
 *
 * - A consumer breaks when the type, the version it declared, or a field it reads is gone, or when
 *   a field it reads changed its type, gained enum values, lost a bound or became optional.
 * - A field nobody reads may go without a version bump: stored events still validate (schemas
 *   are open) and no consumer looks at it, so `field-removed` is breaking only when someone reads it.
 * - A consumer declared on a deprecated version is listed, not failed, until the version is dropped.
 * - A `notification` type carries identifiers and a link only (seed 003: the consumer fetches the
 *   state from the producer's API with its own authorization: secure, never stale).
 */
import { Type } from '@sinclair/typebox';
import { compareCatalog, compareFieldSchemas, type CatalogChange, type CatalogSnapshot } from './compat.ts';
import type { JsonSchema } from './document.ts';
import type { ConsumerContract } from './reads.ts';
import { isTypePattern, matchesTypePattern } from './type-pattern.ts';

/** A pattern (`*`, `order.*`) rather than one type. */
const isWildcard = (type: string) => type.includes('*');
import type { ValidationIssue } from './validate.ts';

/** The JSON shape of a consumer contract (`POST /v1/contracts`, `contracts/*.json`). */
export const ConsumerContractSchema = Type.Object(
  {
    consumer: Type.String({
      minLength: 1,
      maxLength: 200,
      pattern: '^[A-Za-z0-9][A-Za-z0-9._:@/-]*$',
      description: 'Who reads: a team system, a subscription or `target:<id>`; letters, digits and `._:@/-`.',
    }),
    reads: Type.Array(
      Type.Object(
        {
          type: Type.String({ minLength: 1, maxLength: 200, description: 'An event type of the catalog, or a pattern (`order.*`, `*`) when `fields` is empty.' }),
          version: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'The version read: the current one or one still deprecated. Required for a type.' })),
          fields: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 500, uniqueItems: true, description: 'Top-level fields of `data` read.' }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 500 },
    ),
  },
  { additionalProperties: false },
);

type TypeSnapshot = CatalogSnapshot['types'][string];

const isObject = (v: unknown): v is JsonSchema => typeof v === 'object' && v !== null && !Array.isArray(v);
const propertiesOf = (schema: JsonSchema | undefined): JsonSchema => (schema && isObject(schema.properties) ? schema.properties : {});
const requiredOf = (schema: JsonSchema | undefined): readonly unknown[] => (schema && Array.isArray(schema.required) ? schema.required : []);

/** The schema of `version` of a type: its current one or a deprecated one still accepted. */
function schemaOfVersion(type: TypeSnapshot | undefined, version: number): JsonSchema | undefined {
  if (!type) return undefined;
  if (type.version === version) return type.schema;
  return type.deprecated?.[String(version)]?.schema;
}

/**
 * What is wrong with a contract against the catalog `current` (a shape already checked against
 * `ConsumerContractSchema`): unknown types, versions the catalog does not accept, unknown fields.
 * Each issue's `path` points into the contract (`/reads/0/fields/1`).
 */
export function contractProblems(contract: ConsumerContract, current: CatalogSnapshot): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  contract.reads.forEach((read, i) => {
    const at = `/reads/${i}`;
    if (!isTypePattern(read.type)) {
      issues.push({ path: `${at}/type`, message: 'must be an event type (`order.placed`) or a pattern (`order.*`, `*`)' });
      return;
    }
    if (isWildcard(read.type)) {
      if (read.fields.length > 0) issues.push({ path: `${at}/fields`, message: 'must be empty for a pattern: name the type whose fields are read' });
      if (read.version !== undefined) issues.push({ path: `${at}/version`, message: 'must be absent for a pattern' });
      if (!Object.keys(current.types).some((type) => matchesTypePattern(read.type, type))) issues.push({ path: `${at}/type`, message: `${read.type} matches no event type of the catalog` });
      return;
    }
    const type = Object.hasOwn(current.types, read.type) ? current.types[read.type] : undefined;
    if (!type) {
      issues.push({ path: `${at}/type`, message: `${read.type} is not an event type of the catalog` });
      return;
    }
    if (read.version === undefined) {
      issues.push({ path: `${at}/version`, message: `is required for a type (current: ${type.version})` });
      return;
    }
    const schema = schemaOfVersion(type, read.version);
    if (!schema) {
      const accepted = [type.version, ...Object.keys(type.deprecated ?? {}).map(Number)].sort((a, b) => a - b);
      issues.push({ path: `${at}/version`, message: `${read.type} has no version ${read.version} (accepted: ${accepted.join(', ')})` });
      return;
    }
    const properties = propertiesOf(schema);
    read.fields.forEach((field, j) => {
      if (!Object.hasOwn(properties, field)) issues.push({ path: `${at}/fields/${j}`, message: `${read.type} v${read.version} has no field ${field}` });
    });
  });
  return issues;
}

export type ContractRule = 'type-removed' | 'version-dropped' | 'field-removed' | 'field-retyped' | 'deprecated-version';

/** One consumer affected by the catalog as it is now. */
export interface ContractFinding {
  readonly consumer: string;
  readonly type: string;
  readonly version: number;
  /** The field read, when the finding is about one. */
  readonly field?: string;
  readonly rule: ContractRule;
  readonly message: string;
  /** True when the consumer breaks; false for a listing (a consumer on a deprecated version). */
  readonly breaking: boolean;
}

/** Rules of `compareFieldSchemas` that do not hurt a reader (a new optional field, a narrower value). */
const HARMLESS_TO_READERS = new Set(['optional-field-added', 'constraint-tightened', 'enum-value-removed', 'required-field-added', 'field-made-required']);

/** Every consumer that breaks (or sits on a deprecated version) with the catalog `current`, compared with `previous` where given. */
export function checkContracts(input: { previous?: CatalogSnapshot; current: CatalogSnapshot; contracts: readonly ConsumerContract[] }): ContractFinding[] {
  const { previous, current } = input;
  const findings: ContractFinding[] = [];
  for (const { consumer, reads } of input.contracts) {
    for (const read of reads) {
      if (isWildcard(read.type) || read.version === undefined) continue;
      const { type, version } = read;
      const now = Object.hasOwn(current.types, type) ? current.types[type] : undefined;
      const base = { consumer, type, version };
      if (!now) {
        findings.push({ ...base, rule: 'type-removed', message: `${consumer} reads ${type} v${version}, which was removed from the catalog`, breaking: true });
        continue;
      }
      const schema = schemaOfVersion(now, version);
      if (!schema) {
        findings.push({
          ...base,
          rule: 'version-dropped',
          message: `${consumer} subscribes to ${type} v${version}, which the catalog no longer accepts (current v${now.version}): keep v${version} deprecated or move ${consumer} first`,
          breaking: true,
        });
        continue;
      }
      if (version !== now.version) {
        const until = now.deprecated?.[String(version)]?.until;
        findings.push({ ...base, rule: 'deprecated-version', message: `${consumer} is still declared on ${type} v${version}, deprecated until ${until} (current v${now.version})`, breaking: false });
      }
      const before = previous ? schemaOfVersion(Object.hasOwn(previous.types, type) ? previous.types[type] : undefined, version) : undefined;
      const properties = propertiesOf(schema);
      for (const field of read.fields) {
        if (!Object.hasOwn(properties, field)) {
          findings.push({ ...base, field, rule: 'field-removed', message: `${consumer} reads ${type} v${version} /${field}, which was removed or renamed`, breaking: true });
          continue;
        }
        const beforeProp = propertiesOf(before)[field];
        if (!before || !isObject(beforeProp)) continue;
        const changes = compareFieldSchemas(beforeProp, properties[field] as JsonSchema, `/${field}`).filter((c) => !HARMLESS_TO_READERS.has(c.rule));
        if (requiredOf(before).includes(field) && !requiredOf(schema).includes(field)) changes.push({ path: `/${field}`, rule: 'field-made-optional', message: `field /${field} became optional`, breaking: true });
        if (changes.length > 0) {
          const detail = changes.map((c) => `${c.path}: ${c.message}`).join('; ');
          findings.push({ ...base, field, rule: 'field-retyped', message: `${consumer} reads ${type} v${version} /${field}, which changed: ${detail}`, breaking: true });
        }
      }
    }
  }
  return findings;
}

/** A type whose schema does not fit its kind. */
export interface KindProblem {
  readonly type: string;
  readonly version: number;
  readonly field: string;
  readonly message: string;
}

/** Field names a notification may carry besides identifiers: the link to the producer's API (`dataref` is the CloudEvents name). */
export const NOTIFICATION_LINK_FIELDS = ['link', 'dataref'] as const;
const isIdentifierName = (name: string) => name === 'id' || /^[a-z][A-Za-z0-9]*Id$/.test(name);
const isString = (schema: unknown) => isObject(schema) && schema.type === 'string';

/**
 * Every `notification` type (every version still accepted) that carries more than identifiers
 * (`id`, `…Id`, strings) and a link (`link` or `dataref`, a string, required).
 */
export function kindProblems(current: CatalogSnapshot): KindProblem[] {
  const problems: KindProblem[] = [];
  for (const [type, entry] of Object.entries(current.types)) {
    if (entry.kind !== 'notification') continue;
    const versions: [number, JsonSchema][] = [[entry.version, entry.schema], ...Object.entries(entry.deprecated ?? {}).map(([v, d]) => [Number(v), d.schema] as [number, JsonSchema])];
    for (const [version, schema] of versions) {
      const properties = propertiesOf(schema);
      for (const [field, prop] of Object.entries(properties)) {
        const link = (NOTIFICATION_LINK_FIELDS as readonly string[]).includes(field);
        if ((link || isIdentifierName(field)) && isString(prop)) continue;
        problems.push({ type, version, field, message: `${type} v${version} is a notification: /${field} is neither an identifier nor the link (notifications carry ids and a link; make it \`domain\` or \`state\` to carry data)` });
      }
      if (!NOTIFICATION_LINK_FIELDS.some((f) => requiredOf(schema).includes(f))) {
        problems.push({ type, version, field: 'link', message: `${type} v${version} is a notification without a required \`link\` or \`dataref\` to the producer's API` });
      }
    }
  }
  return problems;
}

/** The whole check: catalog changes (with reader-aware field removals), consumer findings, kind problems. */
export interface CatalogCheck {
  readonly changes: readonly CatalogChange[];
  readonly findings: readonly ContractFinding[];
  readonly kinds: readonly KindProblem[];
  /** Breaking changes + breaking findings + kind problems; the check fails when above 0. */
  readonly failures: number;
}

/**
 * Runs the check. Without `previous` only the consumers and kinds are checked. A removed field
 * (or one made optional, or given a new enum value) needs a version bump only when a consumer reads it.
 */
export function checkCatalog(input: { previous?: CatalogSnapshot; current: CatalogSnapshot; contracts: readonly ConsumerContract[] }): CatalogCheck {
  const { previous, current, contracts } = input;
  const readers = (type: string, version: number, field: string) =>
    contracts.filter((c) => c.reads.some((r) => r.type === type && r.version === version && r.fields.includes(field))).map((c) => c.consumer);
  const changes = previous
    ? compareCatalog(previous, current).map((change): CatalogChange => {
        if (!READER_RULES.has(change.rule) || change.path === '/') return change;
        const field = change.path.split('/')[1] ?? '';
        const version = previous.types[change.type]?.version ?? 0;
        const who = readers(change.type, version, field);
        if (who.length > 0) return { ...change, message: `${change.message} (read by ${who.join(', ')})` };
        return change.breaking ? { ...change, breaking: false, message: `${change.message} (read by no declared consumer)` } : change;
      })
    : [];
  const findings = checkContracts({ ...(previous ? { previous } : {}), current, contracts });
  const kinds = kindProblems(current);
  const failures = changes.filter((c) => c.breaking).length + findings.filter((f) => f.breaking).length + kinds.length;
  return { changes, findings, kinds, failures };
}

/** Catalog rules that break readers only (stored events still validate): judged by who reads the field. */
const READER_RULES = new Set(['field-removed', 'field-made-optional', 'enum-value-added']);
