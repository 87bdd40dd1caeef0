/**
 * The embedded warehouse: one DuckDB file (`<data dir>/warehouse.duckdb`). Rows go in through
 * DuckDB's appender (single-row inserts are two orders of magnitude slower): a batch is appended
 * to a staging table and moved into `events` with `ON CONFLICT DO NOTHING` in the same
 * transaction, so an event id lands once whatever is delivered twice; a crash mid-batch rolls the
 * whole batch back and the bus delivers it again.
 *
 * DuckDB lets one process hold the file. Nothing may reach the network or the file system from a
 * query: extension auto-install and auto-load are off, and external access is disabled once the
 * database is open (`read_csv('/etc/passwd')` is refused).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance, StatementType, type DuckDBConnection } from '@duckdb/node-api';
import { makeFilePrivate } from '../../platform/private-files.ts';
import { appendTo } from './duckdb-appender.ts';
import { bulkLoader } from './duckdb-bulk-load.ts';
import { EVENT_COLUMNS, type EventRow } from './rows.ts';
import { dateOnly, jsonValue, QueryError, RebuildRunningError, serialWriter, type QueryLimits, type QueryResult, type RebuildTarget, type WarehouseStore } from './store.ts';
import { allViews, eventsColumnsSql } from './views.ts';

/** DuckDB settings that keep it off the network and its extension repository. */
const OFFLINE = { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' } as const;

async function inTransaction<T>(connection: DuckDBConnection, work: () => Promise<T>): Promise<T> {
  await connection.run('BEGIN TRANSACTION');
  try {
    const result = await work();
    await connection.run('COMMIT');
    return result;
  } catch (error) {
    await connection.run('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

async function createViews(connection: DuckDBConnection): Promise<void> {
  for (const view of allViews('duckdb')) await connection.run(`DROP VIEW IF EXISTS ${view.name}`);
  for (const view of allViews('duckdb')) await connection.run(view.sql);
}

const fromRow = (values: readonly unknown[]): EventRow => {
  const [id, type, version, source, subject, key, producer, time, recordedTime, sequence, correlationId, causationId, data] = values;
  return {
    id: String(id),
    type: String(type),
    version: Number(version),
    source: String(source),
    subject: (subject as string | null) ?? null,
    key: (key as string | null) ?? null,
    producer: (producer as string | null) ?? null,
    time: (time as Date).toISOString(),
    recordedTime: (recordedTime as Date).toISOString(),
    sequence: Number(sequence),
    correlationId: (correlationId as string | null) ?? null,
    causationId: (causationId as string | null) ?? null,
    data: String(data),
  };
};

/** Opens (creating when missing) the warehouse in `file`, mode 0600. */
export async function openDuckDbWarehouse(file: string): Promise<WarehouseStore> {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const instance = await DuckDBInstance.create(file, { ...OFFLINE });
  const writer = await instance.connect();
  const rebuilder = await instance.connect();
  /** A rebuild has started and neither finished nor been abandoned. */
  let rebuilding = false;
  const serial = serialWriter();
  try {
    // Days in the models are UTC days, whatever the machine's zone.
    await writer.run("SET GLOBAL TimeZone = 'UTC'");
    // One row per event: its identity is source + id (CloudEvents). A warehouse made when the key was
    // the id alone keeps that key until its next rebuild.
    await writer.run(`CREATE TABLE IF NOT EXISTS events (${eventsColumnsSql('duckdb')}, PRIMARY KEY (source, id))`);
    await writer.run(`CREATE TEMP TABLE events_staging (${eventsColumnsSql('duckdb')})`);
    // A rebuild a crash interrupted leaves its copy behind; `events` itself is whole.
    await writer.run('DROP TABLE IF EXISTS events_next');
    await createViews(writer);
    await writer.run('CHECKPOINT');
    await writer.run('SET enable_external_access = false');
  } catch (error) {
    writer.closeSync();
    rebuilder.closeSync();
    instance.closeSync();
    throw error;
  }
  // The data dir is private (0700); the files are made so too, as the bus log's are — the WAL
  // again after writes, since DuckDB creates it anew (with the umask's mode) after a checkpoint.
  const tighten = () => {
    for (const suffix of ['', '.wal']) {
      try {
        makeFilePrivate(file + suffix);
      } catch (error) {
        // No WAL right after a checkpoint: nothing to tighten.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
  };
  tighten();

  const store: WarehouseStore = {
    dialect: 'duckdb',
    location: file,
    land: (rows) =>
      serial(() =>
        inTransaction(writer, async () => {
          if (rows.length === 0) return 0;
          await appendTo(writer, 'events_staging', rows);
          // A batch may hold an event twice (redelivery within one batch): keep its first row.
          const moved = await writer.run(
            `INSERT INTO events SELECT * FROM events_staging QUALIFY row_number() OVER (PARTITION BY source, id ORDER BY sequence) = 1 ON CONFLICT DO NOTHING`,
          );
          await writer.run('DELETE FROM events_staging');
          return moved.rowsChanged;
        }).finally(tighten),
      ),
    async startRebuild() {
      // One process holds the file, so one flag keeps rebuilds one at a time.
      if (rebuilding) throw new RebuildRunningError('a warehouse rebuild is already running; wait for it to finish');
      rebuilding = true;
      let loader: Awaited<ReturnType<typeof bulkLoader>>;
      try {
        await rebuilder.run('DROP TABLE IF EXISTS events_next');
        await rebuilder.run(`CREATE TABLE events_next (${eventsColumnsSql('duckdb')})`);
        loader = await bulkLoader(instance, 'events_next');
      } catch (error) {
        rebuilding = false;
        throw error;
      }
      const done = () => void (rebuilding = false);
      return {
        append: (rows) => loader.append(rows),
        // The key is built once over the loaded copy (much faster than row by row), then swapped in.
        finish: (remaining) =>
          serial(async () => {
            try {
              await loader.append(await remaining());
              await loader.flush();
            } finally {
              await loader.close();
            }
            await rebuilder.run('ALTER TABLE events_next ADD PRIMARY KEY (source, id)');
            await inTransaction(writer, async () => {
              for (const view of allViews('duckdb')) await writer.run(`DROP VIEW IF EXISTS ${view.name}`);
              await writer.run('DROP TABLE events');
              await writer.run('ALTER TABLE events_next RENAME TO events');
              await createViews(writer);
            });
            // The copy was written in large transactions straight to the file; fold the WAL in now
            // rather than at the next landing.
            await writer.run('CHECKPOINT');
          })
            .finally(tighten)
            // A failed finish is followed by `abandon`, which ends the rebuild.
            .then(done),
        abandon: async () => {
          try {
            await loader.close();
            await rebuilder.run('DROP TABLE IF EXISTS events_next');
          } finally {
            done();
          }
        },
      } satisfies RebuildTarget;
    },
    async query(sql, limits) {
      return queryDuckDb(instance, sql, limits);
    },
    async scan(afterSequence, limit) {
      const reader = await rebuilder.runAndReadAll(`SELECT ${EVENT_COLUMNS.join(', ')} FROM events WHERE sequence > $1 ORDER BY sequence LIMIT $2`, [
        BigInt(afterSequence),
        BigInt(limit),
      ]);
      return reader.getRowsJS().map(fromRow);
    },
    async stats() {
      const reader = await rebuilder.runAndReadAll('SELECT count(*), coalesce(max(sequence), 0) FROM events');
      const [count, last] = reader.getRowsJS()[0] ?? [0, 0];
      return { rows: Number(count), lastSequence: Number(last) };
    },
    close: () =>
      serial(async () => {
        await writer.run('CHECKPOINT').catch(() => undefined);
        writer.closeSync();
        rebuilder.closeSync();
        instance.closeSync();
      }),
  };
  return store;
}

/** Statement types a query may be: reading ones only (DuckDB's own parser says which). */
const READING = new Set<StatementType>([StatementType.SELECT, StatementType.EXPLAIN]);

async function queryDuckDb(instance: DuckDBInstance, sql: string, limits: QueryLimits): Promise<QueryResult> {
  const connection = await instance.connect();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    connection.interrupt();
  }, limits.timeoutMs);
  try {
    const statements = await connection.extractStatements(sql).catch((error: unknown) => {
      throw new QueryError('invalid_query', (error as Error).message);
    });
    if (statements.count !== 1) throw new QueryError('invalid_query', `send exactly one SQL statement (got ${statements.count})`);
    const prepared = await statements.prepare(0).catch((error: unknown) => {
      throw new QueryError('invalid_query', (error as Error).message);
    });
    if (!READING.has(prepared.statementType)) {
      throw new QueryError('read_only', 'the warehouse is read-only: only SELECT (and EXPLAIN) statements are run');
    }
    // The transaction makes the database itself refuse any write the statement might attempt.
    await connection.run('BEGIN TRANSACTION READ ONLY');
    try {
      const reader = await prepared.streamAndReadUntil(limits.maxRows + 1);
      const names = reader.columnNames();
      const types = reader.columnTypes().map((t) => t.toString());
      const all = reader.getRowsJS();
      const rows = all.slice(0, limits.maxRows).map((values) => {
        const row: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
        names.forEach((name, i) => (row[name] = types[i] === 'DATE' ? dateOnly(values[i]) : jsonValue(values[i])));
        return row;
      });
      return { columns: names.map((name, i) => ({ name, type: types[i] ?? 'UNKNOWN' })), rows, truncated: all.length > limits.maxRows };
    } finally {
      await connection.run('ROLLBACK').catch(() => undefined);
    }
  } catch (error) {
    if (error instanceof QueryError) throw error;
    if (timedOut) throw new QueryError('query_timeout', `the query ran longer than ${limits.timeoutMs} ms and was cancelled`);
    throw new QueryError('invalid_query', (error as Error).message);
  } finally {
    clearTimeout(timer);
    connection.closeSync();
  }
}
