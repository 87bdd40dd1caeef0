/**
 * Bulk-loading many rows into a DuckDB table of `events`'s shape (a rebuild's copy). DuckDB's
 * appender costs about a microsecond or two of the event loop per value, so a wide row (13 values)
 * costs more than everything else a rebuild does with an event. Rows go in narrow instead: two
 * values each — the twelve small columns joined into one text, and `data` — into an in-memory
 * staging table; a set-based `INSERT … SELECT` then splits the text, casts the columns and moves
 * a whole staging table into the target in one transaction, on DuckDB's own threads (vectorised,
 * in parallel, rows written straight to the file rather than through the WAL once a transaction
 * holds a full row group).
 *
 * Two stagings on two connections take turns: the event loop fills one while DuckDB moves the
 * other. Staging tables are TEMP: a crash loses them with the target copy, which the next start
 * drops.
 */
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { appendTo } from './duckdb-appender.ts';
import type { EventRow } from './rows.ts';

/** Separates the small columns in the staged text; a control character JSON text never holds raw. */
const SEPARATOR = '\x1e';
/** Stands for NULL in the staged text. */
const NULL_MARK = '\x1f';
/** A value holding either character cannot be staged as text: its row is appended wide instead. */
const reserved = (text: string) => text.includes(SEPARATOR) || text.includes(NULL_MARK);

/** Rows per move (transaction): DuckDB writes a full row group (122 880 rows) straight to the file. (Default) */
export const MOVE_ROWS = 122_880;

/** The staged text of a row's small columns, or undefined when a value holds a reserved character. */
function stagedText(r: EventRow): string | undefined {
  const texts = [r.id, r.type, r.source, r.subject ?? '', r.key ?? '', r.producer ?? '', r.correlationId ?? '', r.causationId ?? ''];
  for (const text of texts) if (reserved(text)) return undefined;
  const time = Date.parse(r.time);
  const recorded = Date.parse(r.recordedTime);
  if (Number.isNaN(time) || Number.isNaN(recorded)) return undefined;
  return [
    r.id,
    r.type,
    r.version,
    r.source,
    r.subject ?? NULL_MARK,
    r.key ?? NULL_MARK,
    r.producer ?? NULL_MARK,
    // Epoch microseconds of the millisecond instant: the same value the landing path's appender writes.
    time * 1000,
    recorded * 1000,
    r.sequence,
    r.correlationId ?? NULL_MARK,
    r.causationId ?? NULL_MARK,
  ].join(SEPARATOR);
}

const nullable = (index: number) => `nullif(m[${index}], '${NULL_MARK}')`;

/** The move of one staging table into `target`: split, cast, insert. */
const moveSql = (target: string) =>
  `INSERT INTO ${target} SELECT m[1], m[2], m[3]::INTEGER, m[4], ${nullable(5)}, ${nullable(6)}, ${nullable(7)}, ` +
  `make_timestamptz(m[8]::BIGINT), make_timestamptz(m[9]::BIGINT), m[10]::BIGINT, ${nullable(11)}, ${nullable(12)}, data ` +
  `FROM (SELECT string_split(meta, '${SEPARATOR}') AS m, data FROM bulk_staging)`;

interface Staging {
  readonly connection: DuckDBConnection;
  /** Rows staged and not yet moved. */
  rows: number;
  /** Settles when the staging's last move has ended: it is refilled only then. */
  moved: Promise<void>;
}

export interface BulkLoader {
  /** Stages `rows` (the event loop's part); resolves once staged, a move possibly running behind. */
  append(rows: readonly EventRow[]): Promise<void>;
  /** Moves what is staged and waits for every move: after it, every appended row is in the target. */
  flush(): Promise<void>;
  /** Waits for a running move, then closes the loader's connections (their stagings go with them). */
  close(): Promise<void>;
}

export interface BulkLoaderOptions {
  /** Rows staged before they are moved in one transaction. (Default: `MOVE_ROWS`) */
  readonly moveRows?: number;
}

/**
 * A loader into `target` (a table of `events`'s columns with no key: each row is inserted once,
 * unchecked). Rows are in `target` after `flush`; a failed move rejects `append` or `flush`.
 */
export async function bulkLoader(instance: DuckDBInstance, target: string, options: BulkLoaderOptions = {}): Promise<BulkLoader> {
  const moveRows = options.moveRows ?? MOVE_ROWS;
  const stagings: Staging[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const connection = await instance.connect();
      stagings.push({ connection, rows: 0, moved: Promise.resolve() });
      await connection.run('CREATE TEMP TABLE bulk_staging (meta VARCHAR NOT NULL, data VARCHAR NOT NULL)');
    }
  } catch (error) {
    for (const staging of stagings) staging.connection.closeSync();
    throw error;
  }
  let current = 0;
  let moving: Promise<void> = Promise.resolve();
  let failed: unknown;
  let closed = false;

  const move = (staging: Staging): void => {
    const run = async () => {
      await staging.connection.run('BEGIN TRANSACTION');
      try {
        await staging.connection.run(moveSql(target));
        await staging.connection.run('COMMIT');
      } catch (error) {
        await staging.connection.run('ROLLBACK').catch(() => undefined);
        throw error;
      }
      await staging.connection.run('TRUNCATE bulk_staging');
      staging.rows = 0;
    };
    // One move at a time (both write the same table); a failed move stops the ones after it.
    moving = moving.then(run);
    staging.moved = moving.catch((error: unknown) => {
      failed ??= error;
    });
  };

  return {
    async append(rows) {
      if (failed !== undefined) throw failed;
      const staging = stagings[current]!;
      await staging.moved;
      if (failed !== undefined) throw failed;
      const odd: EventRow[] = [];
      const appender = await staging.connection.createAppender('bulk_staging');
      try {
        for (const row of rows) {
          const text = stagedText(row);
          if (text === undefined) {
            odd.push(row);
            continue;
          }
          appender.appendVarchar(text);
          appender.appendVarchar(row.data);
          appender.endRow();
        }
        appender.flushSync();
      } finally {
        appender.closeSync();
      }
      staging.rows += rows.length - odd.length;
      // Rare rows (a separator character in a value) go in wide, in a transaction of their own.
      if (odd.length > 0) {
        await staging.connection.run('BEGIN TRANSACTION');
        await appendTo(staging.connection, target, odd).then(
          () => staging.connection.run('COMMIT'),
          async (error: unknown) => {
            await staging.connection.run('ROLLBACK').catch(() => undefined);
            throw error;
          },
        );
      }
      if (staging.rows >= moveRows) {
        move(staging);
        current = 1 - current;
      }
    },
    async flush() {
      // The other staging's move, if any, was queued first.
      const staging = stagings[current]!;
      await staging.moved;
      if (failed === undefined && staging.rows > 0) move(staging);
      await Promise.all(stagings.map((s) => s.moved));
      if (failed !== undefined) throw failed;
    },
    async close() {
      await Promise.all(stagings.map((s) => s.moved));
      if (closed) return;
      closed = true;
      for (const staging of stagings) staging.connection.closeSync();
    },
  };
}
