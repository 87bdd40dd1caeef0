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
import type { DuckDBAppender, DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
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

export interface BulkLoader<T = EventRow> {
  /** Stages `items` (the event loop's part); resolves once staged, a move possibly running behind. */
  append(items: readonly T[]): Promise<void>;
  /** Moves what is staged and waits for every move: after it, every appended row is in the target. */
  flush(): Promise<void>;
  /** Waits for a running move, then closes the loader's connections (their stagings go with them). */
  close(): Promise<void>;
}

export interface BulkLoaderOptions {
  /** Rows staged before they are moved in one transaction. (Default: `MOVE_ROWS`) */
  readonly moveRows?: number;
}

/** What one kind of bulk load stages, and how a staging table (`bulk_staging`) moves into the target. */
export interface StagingPlan<T> {
  /** The staging table's columns (SQL). */
  readonly columns: string;
  /** Appends `items` to the staging table; returns the rows that cannot be staged (landed wide instead). */
  stage(appender: DuckDBAppender, items: readonly T[]): readonly EventRow[];
  /** Moves everything staged into `target`, in the connection's open transaction. */
  move(connection: DuckDBConnection, target: string): Promise<void>;
}

/**
 * A loader into `target` (a table of `events`'s columns with no key: each row is inserted once,
 * unchecked) through stagings of `plan`. Rows are in `target` after `flush`; a failed move rejects
 * `append` or `flush`.
 */
export async function stagedLoader<T>(instance: DuckDBInstance, target: string, plan: StagingPlan<T>, options: BulkLoaderOptions = {}): Promise<BulkLoader<T>> {
  const moveRows = options.moveRows ?? MOVE_ROWS;
  const stagings: Staging[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const connection = await instance.connect();
      stagings.push({ connection, rows: 0, moved: Promise.resolve() });
      await connection.run(`CREATE TEMP TABLE bulk_staging (${plan.columns})`);
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
        await plan.move(staging.connection, target);
        await staging.connection.run('COMMIT');
      } catch (error) {
        await staging.connection.run('ROLLBACK').catch(() => undefined);
        throw error;
      }
      // Made anew rather than emptied: a deleted row stays in the table's storage, and every later
      // scan of the staging would pass over it again.
      await staging.connection.run('DROP TABLE bulk_staging');
      await staging.connection.run(`CREATE TEMP TABLE bulk_staging (${plan.columns})`);
      staging.rows = 0;
    };
    // One move at a time (both write the same table); a failed move stops the ones after it.
    moving = moving.then(run);
    staging.moved = moving.catch((error: unknown) => {
      failed ??= error;
    });
  };

  return {
    async append(items) {
      if (failed !== undefined) throw failed;
      const staging = stagings[current]!;
      await staging.moved;
      if (failed !== undefined) throw failed;
      let wide: readonly EventRow[];
      const appender = await staging.connection.createAppender('bulk_staging');
      try {
        wide = plan.stage(appender, items);
        appender.flushSync();
      } finally {
        appender.closeSync();
      }
      staging.rows += items.length - wide.length;
      // Rare rows that cannot be staged go in wide, in a transaction of their own.
      if (wide.length > 0) {
        await staging.connection.run('BEGIN TRANSACTION');
        await appendTo(staging.connection, target, wide).then(
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

/** Narrow rows: the twelve small columns joined into one text, and `data`; split and cast by the move. */
const narrowRows: StagingPlan<EventRow> = {
  columns: 'meta VARCHAR NOT NULL, data VARCHAR NOT NULL',
  stage(appender, rows) {
    const odd: EventRow[] = [];
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
    return odd;
  },
  async move(connection, target) {
    await connection.run(moveSql(target));
  },
};

/** A loader of rows into `target`, staged narrow (see the file's comment). */
export function bulkLoader(instance: DuckDBInstance, target: string, options: BulkLoaderOptions = {}): Promise<BulkLoader> {
  return stagedLoader(instance, target, narrowRows, options);
}
