/**
 * Rows of `events` made by DuckDB itself from the log's stored envelope texts (a rebuild on an engine
 * that hands them out, `Engine.readStored`): the columns are extracted, `data` is redacted and
 * personal fields are pseudonymised in set-based SQL, on DuckDB's threads, so JavaScript never parses
 * an event. The rows equal what `rowMaker` (the landing path) makes of the same events:
 *
 * - `data` is DuckDB's serialisation of the stored JSON, which is JavaScript's (`JSON.stringify`)
 *   exactly when the envelope holds no `\u` escape and no number written with `e+`: the only places
 *   where DuckDB's JSON writer and V8's differ (escapes of control characters and lone surrogates,
 *   exponents of large numbers). An envelope holding either is left to `rowMaker` (`leftoversSql`);
 * - secrets (and personal fields under `remove`) are keys left out, pseudonymised fields keep their
 *   place, with the same keyed hash as `pseudonymiser`: HMAC-SHA-256 built from DuckDB's `sha256`
 *   over blobs, the pads passed as parameters (never written into the SQL text);
 * - only pointers to top-level keys are redacted in SQL; a type marking anything deeper (or `*`),
 *   `data` that is not an object where fields are marked, and a `time` that is not the bus's RFC 3339
 *   are left to `rowMaker` too.
 */
import { createHash } from 'node:crypto';
import { blobValue, type DuckDBBlobValue } from '@duckdb/node-api';
import type { StoredEnvelope } from '../../bus/index.ts';
import { catalog, type CloudEvent } from '../../contracts/index.ts';
import { appendTo } from './duckdb-appender.ts';
import type { StagingPlan } from './duckdb-bulk-load.ts';
import { rowMaker, type RowOptions } from './rows.ts';

/** Columns of a staging table of stored envelopes, in order (numbers as DOUBLE: the appender takes them without a BigInt). */
export const STORED_STAGING_COLUMNS = 'sequence DOUBLE NOT NULL, recorded_ms DOUBLE NOT NULL, envelope VARCHAR NOT NULL';

/** A SQL string literal. */
const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** The key a one-segment JSON pointer (`/email`) names, or undefined for a deeper pointer or `*`. */
function topLevelKey(pointer: string): string | undefined {
  const segments = pointer.split('/');
  if (segments.length !== 2 || segments[0] !== '' || segments[1] === '*') return undefined;
  return segments[1]!.replaceAll('~1', '/').replaceAll('~0', '~');
}

/** What a catalog type's `data` needs under the options. */
interface TypeRule {
  readonly type: string;
  readonly names: readonly string[];
  readonly producer: string;
  readonly version: number;
  /** Keys left out of `data`. */
  readonly removed: readonly string[];
  /** Keys whose values are replaced by pseudonyms. */
  readonly pseudonymised: readonly string[];
  /** Redaction SQL does not do (a pointer below the top level): every event of the type goes to `rowMaker`. */
  readonly inJs: boolean;
}

function typeRules(options: RowOptions): TypeRule[] {
  return catalog.map((entry) => {
    const secrets = (entry.secrets ?? []).map(topLevelKey);
    const personal = (options.personalData === 'keep' ? [] : entry.personalData).map(topLevelKey);
    const known = (keys: (string | undefined)[]) => keys.filter((key) => key !== undefined);
    return {
      type: entry.type,
      names: [entry.type, ...entry.aliases],
      producer: entry.producer,
      version: entry.version,
      removed: known([...secrets, ...(options.personalData === 'remove' ? personal : [])]),
      pseudonymised: options.personalData === 'pseudonymise' ? known(personal) : [],
      inJs: [...secrets, ...personal].some((key) => key === undefined),
    };
  });
}

/** The inner and outer pads of HMAC-SHA-256 under `key` (RFC 2104), 64 bytes each. */
export function hmacPads(key: string): { readonly inner: Uint8Array; readonly outer: Uint8Array } {
  let bytes: Uint8Array = Buffer.from(key, 'utf8');
  if (bytes.length > 64) bytes = createHash('sha256').update(bytes).digest();
  const inner = new Uint8Array(64);
  const outer = new Uint8Array(64);
  for (let i = 0; i < 64; i++) {
    inner[i] = (bytes[i] ?? 0) ^ 0x36;
    outer[i] = (bytes[i] ?? 0) ^ 0x5c;
  }
  return { inner, outer };
}

/** `pseudonymiser`'s pseudonym of a JSON text, in SQL: `ps_` + 22 base64url characters of the HMAC. */
export const pseudonymSql = (json: string) =>
  `'ps_' || translate(left(to_base64(unhex(sha256($outer_pad || unhex(sha256($inner_pad || encode(${json})))))), 22), '+/', '-_')`;

/** The bus's `time`: RFC 3339 with seconds and an offset (`readTime`), which DuckDB and `Date.parse` read alike. */
const TIME_PATTERN = String.raw`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$`;
/** `versionOf`: the digits of a `…/v<n>` dataschema (more digits than INTEGER holds: `rowMaker` decides). */
const VERSION_PATTERN = String.raw`/v(\d{1,9})$`;
/** Envelope fields read, then `data` and the marked keys' values: one pass over each envelope's JSON. */
const FIELDS = ['id', 'type', 'source', 'subject', 'partitionkey', 'time', 'dataschema', 'correlationid', 'causationid'];
/** An envelope field's JSON as a string (NULL when absent or null; escapes read by DuckDB only where there are some). */
const text = (name: string) => {
  const json = `json_${name}`;
  return `CASE WHEN ${json} IS NULL OR ${json} = 'null' THEN NULL WHEN contains(${json}, '\\') THEN json_extract_string(${json}, '$') ELSE ${json}[2:-2] END`;
};
/** The field is a JSON string, null or absent (anything else is `rowMaker`'s to judge). */
const textual = (name: string) => {
  const json = `json_${name}`;
  return `(${json} IS NULL OR ${json} = 'null' OR starts_with(${json}, '"'))`;
};

export interface StoredRowsSql {
  /** Pseudonyms of the staged envelopes' personal values, into the temporary table `stored_pseudonyms`; parameters `params`. */
  readonly pseudonyms: string;
  readonly params: Record<string, DuckDBBlobValue>;
  /** Inserts a row for every staged envelope; those not made as `rowMaker` would make them with a negated sequence. */
  readonly insert: string;
  /** The staged envelopes whose rows were not made (sequence, recorded_ms, envelope), in order: `rowMaker`'s to make. */
  readonly leftovers: string;
  /** Deletes the rows not made. */
  readonly dropLeftovers: string;
}

/**
 * The SQL moving a staging table of stored envelopes (`STORED_STAGING_COLUMNS`) into `target`
 * (a table of `events`'s columns), redacting as `rowMaker(options)` does.
 *
 * Redaction edits `data`'s text: the member `"key":<value>` (the value as extracted, so as written)
 * is replaced, or removed with its comma. Keys are unique in an object and a key token cannot occur
 * inside a JSON string, so when the member text occurs exactly once it is the top-level member; a
 * row where it occurs more often (the same member nested deeper) is left to `rowMaker`.
 */
export function storedRowsSql(options: RowOptions, staging: string, target: string): StoredRowsSql {
  const rules = typeRules(options);
  const keys = [...new Set(rules.flatMap((r) => [...r.removed, ...r.pseudonymised]))];
  const pointer = (key: string) => '/data/' + key.replaceAll('~', '~0').replaceAll('/', '~1');
  const paths = [...FIELDS.map((f) => `$.${f}`), '/data', ...keys.map(pointer)];
  // Each value its own column: list elements read after a join cost a copy of the whole list each.
  const value = (key: string) => `marked${keys.indexOf(key)}`;
  // The member as written: `JSON.stringify` of the key, a colon, the value as extracted.
  const member = (key: string) => `(${literal(JSON.stringify(key) + ':')} || ${value(key)})`;
  const marked = rules.filter((r) => !r.inJs && r.removed.length + r.pseudonymised.length > 0);
  const slots = Array.from({ length: Math.max(0, ...marked.map((r) => r.pseudonymised.length)) }, (_, n) => n);
  // Slot n holds the value of the type's n-th pseudonymised key; its pseudonym is joined as p<n>.
  const slot = (n: number) => {
    const cases = marked.filter((r) => r.pseudonymised.length > n).map((r) => `WHEN ${literal(r.type)} THEN ${value(r.pseudonymised[n]!)}`);
    return cases.length === 0 ? 'NULL' : `CASE t.type ${cases.join(' ')} END`;
  };
  // Edit n of a type's `data` (removals first, then pseudonyms), applied to the column `d`: the
  // member cut out or replaced where it occurs exactly once (it is then the top-level one), else NULL.
  const editsOf = (rule: TypeRule) => [
    ...rule.removed.map((key) => ({ key, replacement: undefined as string | undefined })),
    ...rule.pseudonymised.map((key, n) => ({ key, replacement: `${literal(JSON.stringify(key) + ':"')} || p${n}.pseudonym || '"'` })),
  ];
  const steps = Array.from({ length: Math.max(0, ...marked.map((r) => editsOf(r).length)) }, (_, n) => n);
  const step = (rule: TypeRule, n: number) => {
    const edit = editsOf(rule)[n];
    if (edit === undefined) return 'd';
    const m = member(edit.key);
    const at = `strpos(d, ${m})`;
    const after = `substr(d, ${at} + length(${m}))`;
    // A removed member takes the comma after it (first member) or the one before it along.
    const cut =
      edit.replacement === undefined
        ? `CASE WHEN ${at} = 2 THEN '{' || ltrim(${after}, ',') ELSE left(d, ${at} - 2) || ${after} END`
        : `left(d, ${at} - 1) || ${edit.replacement} || ${after}`;
    return `CASE WHEN ${value(edit.key)} IS NULL THEN d WHEN ${at} = 0 OR contains(substr(d, ${at} + 1), ${m}) THEN NULL ELSE ${cut} END`;
  };
  const stepSql = (n: number) => `CASE known_type ${marked.map((r) => `WHEN ${literal(r.type)} THEN ${step(r, n)}`).join(' ')} ELSE d END`;
  // Data of a marked type must be an object.
  const first = marked.length === 0 ? 'd' : `CASE WHEN known_type IN (${marked.map((r) => literal(r.type)).join(', ')}) AND NOT starts_with(d, '{') THEN NULL ELSE d END`;
  const types = rules
    .flatMap((r) => r.names.map((name) => `(${literal(name)}, ${literal(r.type)}, ${literal(r.producer)}, ${r.version}, ${r.inJs})`))
    .join(',\n    ');
  const pseudonymisedKeys = [...new Set(marked.flatMap((r) => r.pseudonymised))];
  const cheap = `NOT contains(envelope, '\\u') AND NOT contains(envelope, 'e+')`;
  // The distinct values to pseudonymise, each hashed once. Its own statement (a second pass over the
  // JSON): read twice in one statement, DuckDB would materialise every parsed row in between.
  const byType = marked
    .filter((r) => r.pseudonymised.length > 0)
    .flatMap((r) => r.names.map((name) => `WHEN ${literal(JSON.stringify(name))} THEN [${r.pseudonymised.map((key) => `j[${pseudonymisedKeys.indexOf(key) + 2}]`).join(', ')}]`));
  const pseudonyms = `
CREATE OR REPLACE TEMP TABLE stored_pseudonyms AS
SELECT value, ${pseudonymSql('value')} AS pseudonym FROM (
  SELECT DISTINCT unnest(CASE j[1] ${byType.join(' ') || 'WHEN NULL THEN []'} END) AS value
  FROM (SELECT json_extract(envelope, [${['$.type', ...pseudonymisedKeys.map(pointer)].map(literal).join(', ')}])::VARCHAR[] AS j FROM ${staging} WHERE ${cheap})
) WHERE value IS NOT NULL`;
  // No filter in this statement: DuckDB would copy the expressions it filters on (the JSON extraction,
  // the edits) into the filter and compute them twice. Rows not made go in with a negated sequence
  // (and placeholders where NOT NULL), are read back as leftovers and deleted.
  const insert = `
INSERT INTO ${target}
WITH types (name, type, producer, version, in_js) AS (VALUES
    ${types}),
extracted AS (
  SELECT e.sequence, e.recorded_ms, ${FIELDS.map((f, i) => `e.j[${i + 1}] AS json_${f}`).join(', ')},
    coalesce(e.j[${FIELDS.length + 1}], 'null') AS d, ${keys.map((key, i) => `e.j[${FIELDS.length + 2 + i}] AS ${value(key)}`).join(', ')},
    t.type AS known_type, t.producer, t.version AS catalog_version,
    -- DuckDB wrote this JSON as JavaScript does (see the file's comment).
    e.j IS NOT NULL AND NOT coalesce(t.in_js, false) AS sql_made
    ${slots.map((n) => `, ${slot(n)} AS slot${n}`).join('')}
  FROM (
    SELECT sequence::BIGINT AS sequence, recorded_ms::BIGINT AS recorded_ms,
      CASE WHEN ${cheap} THEN json_extract(envelope, [${paths.map(literal).join(', ')}])::VARCHAR[] END AS j
    FROM ${staging}
  ) e LEFT JOIN types t ON t.name = ${text('type').replaceAll('json_type', 'e.j[2]')}
),
edit0 AS (
  SELECT * REPLACE (${first} AS d)${slots.map((n) => `, p${n}.pseudonym AS pseudonym${n}`).join('')}
  FROM extracted${slots.map((n) => ` LEFT JOIN stored_pseudonyms p${n} ON p${n}.value = slot${n}`).join('')}
),
${steps.map((n) => `edit${n + 1} AS (SELECT * REPLACE (${stepSql(n).replaceAll(/\bp(\d+)\.pseudonym\b/g, 'pseudonym$1')} AS d) FROM edit${n}),`).join('\n')}
made AS (
  SELECT sequence, recorded_ms, ${FIELDS.map((f) => `${text(f)} AS ${f}`).join(', ')}, known_type, producer, catalog_version, d AS data,
    TRY_CAST(made_time AS TIMESTAMPTZ) AS time_value,
    sql_made AND ${FIELDS.map(textual).join(' AND ')} AS textual
  FROM (SELECT *, ${text('time')} AS made_time FROM edit${steps.length})
),
checked AS (
  SELECT *,
    -- Rows DuckDB makes as rowMaker does; the others are left to it.
    coalesce(textual AND data IS NOT NULL AND regexp_full_match(time, '${TIME_PATTERN}') AND time_value IS NOT NULL
      AND NOT coalesce(regexp_matches(dataschema, '/v\\d+$') AND NOT regexp_matches(dataschema, '${VERSION_PATTERN}'), false), false) AS ok
  FROM made
)
SELECT coalesce(id, ''), coalesce(known_type, type, ''),
  coalesce(TRY_CAST(nullif(regexp_extract(dataschema, '${VERSION_PATTERN}', 1), '') AS INTEGER), catalog_version, 1),
  coalesce(source, ''), subject, partitionkey, producer,
  coalesce(date_trunc('millisecond', time_value), make_timestamptz(0)), make_timestamptz(recorded_ms * 1000),
  CASE WHEN ok THEN sequence ELSE -sequence END,
  correlationid, causationid, coalesce(data, 'null')
FROM checked`;
  const pads = hmacPads(options.pseudonymKey);
  return {
    pseudonyms,
    params: { inner_pad: blobValue(pads.inner), outer_pad: blobValue(pads.outer) },
    insert,
    leftovers: `SELECT s.sequence, s.recorded_ms, s.envelope FROM ${staging} s JOIN (SELECT -sequence AS sequence FROM ${target} WHERE sequence < 0) x ON x.sequence = s.sequence ORDER BY s.sequence`,
    dropLeftovers: `DELETE FROM ${target} WHERE sequence < 0`,
  };
}

/**
 * Stored envelopes staged as they are (three values a row) and moved by DuckDB (`storedRowsSql`);
 * the few it leaves go through `rowMaker` in the same transaction.
 */
export function storedEnvelopes(options: RowOptions): StagingPlan<StoredEnvelope> {
  const toRow = rowMaker(options);
  const statements = new Map<string, StoredRowsSql>();
  return {
    columns: STORED_STAGING_COLUMNS,
    stage(appender, envelopes) {
      for (const stored of envelopes) {
        appender.appendDouble(stored.sequence);
        appender.appendDouble(stored.recordedMs);
        appender.appendVarchar(stored.envelope);
        appender.endRow();
      }
      return [];
    },
    async move(connection, target) {
      let sql = statements.get(target);
      if (sql === undefined) statements.set(target, (sql = storedRowsSql(options, 'bulk_staging', target)));
      await connection.run(sql.pseudonyms, sql.params);
      await connection.run(sql.insert);
      const left = (await connection.runAndReadAll(sql.leftovers)).getRowsJS() as [number, number, string][];
      if (left.length > 0) await connection.run(sql.dropLeftovers);
      if (left.length === 0) return;
      // As the engine's `read` hands them out.
      const rows = left.map(([sequence, recordedMs, envelope]) => {
        const event = JSON.parse(envelope) as CloudEvent;
        event.sequence = sequence;
        event.recordedtime = new Date(recordedMs).toISOString();
        return toRow(event);
      });
      await appendTo(connection, target, rows);
    },
  };
}
