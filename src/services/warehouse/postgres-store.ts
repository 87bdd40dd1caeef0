/**
 * The warehouse on PostgreSQL (`FLAMINGO_WAREHOUSE_URL=postgres://…`), in a schema of its own.
 * Rows are bulk-loaded with COPY into a staging table and moved into `events` with
 * `ON CONFLICT DO NOTHING` in the same transaction: an event id lands once, from any number of
 * processes, whatever is delivered twice.
 *
 * Queries run on connections of their own, logged in as a role that may only read the warehouse's
 * schema (`<schema>_reader`, created here), in a read-only transaction with a statement timeout,
 * one statement at a time (the extended protocol refuses several). Being another login, that role
 * cannot become the owner again (`set_config('role', …)`), and it reads no other schema.
 */
import { createHmac } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import Cursor from 'pg-cursor';
import { from as copyFrom } from 'pg-copy-streams';
import { EVENT_COLUMNS, type EventRow } from './rows.ts';
import { dateOnly, jsonValue, QueryError, RebuildRunningError, serialWriter, type QueryLimits, type QueryResult, type RebuildTarget, type WarehouseStore } from './store.ts';
import { allViews, eventsColumnsSql } from './views.ts';

export interface PostgresWarehouseOptions {
  /** `postgres://…` of a user that may create the schema and a role (or the role exists). */
  readonly url: string;
  /** The schema (also the stem of the reader role's name). */
  readonly schema: string;
  /** The reader role's password is derived from it, so every process agrees on it. */
  readonly secret: string;
  /** `postgres://…` of the reader login, when an administrator made it. (Default: the role `<schema>_reader` this creates, on `url`'s server) */
  readonly readerUrl?: string;
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
const literal = (value: string) => `'${value.replaceAll("'", "''")}'`;

/** COPY text format: tab-separated, `\N` for NULL, backslash escapes. */
function copyField(value: string | number | null): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') return String(value);
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

function copyText(rows: readonly EventRow[]): string {
  let out = '';
  for (const r of rows) {
    out +=
      [r.id, r.type, r.version, r.source, r.subject, r.key, r.producer, r.time, r.recordedTime, r.sequence, r.correlationId, r.causationId, r.data]
        .map(copyField)
        .join('\t') + '\n';
  }
  return out;
}

async function copyInto(client: pg.PoolClient | pg.Client, table: string, rows: readonly EventRow[]): Promise<void> {
  if (rows.length === 0) return;
  const stream = client.query(copyFrom(`COPY ${table} (${EVENT_COLUMNS.join(', ')}) FROM STDIN`));
  await pipeline(Readable.from([copyText(rows)]), stream);
}

async function inTransaction<T>(client: pg.PoolClient, work: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await work();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

const fromRow = (r: Record<string, unknown>): EventRow => ({
  id: String(r.id),
  type: String(r.type),
  version: Number(r.version),
  source: String(r.source),
  subject: (r.subject as string | null) ?? null,
  key: (r.key as string | null) ?? null,
  producer: (r.producer as string | null) ?? null,
  time: (r.time as Date).toISOString(),
  recordedTime: (r.recorded_time as Date).toISOString(),
  sequence: Number(r.sequence),
  correlationId: (r.correlation_id as string | null) ?? null,
  causationId: (r.causation_id as string | null) ?? null,
  data: JSON.stringify(r.data),
});

/** pg type OIDs of the columns a query returns, named. */
const PG_TYPES: Record<number, string> = { 16: 'boolean', 20: 'bigint', 21: 'smallint', 23: 'integer', 25: 'text', 700: 'real', 701: 'double precision', 1043: 'varchar', 1082: 'date', 1114: 'timestamp', 1184: 'timestamptz', 1700: 'numeric', 114: 'json', 3802: 'jsonb' };

/** Opens the warehouse in `options.schema` (created with its tables, views and reader role when missing). */
export async function openPostgresWarehouse(options: PostgresWarehouseOptions): Promise<WarehouseStore> {
  const { schema } = options;
  const session = `-c search_path=${ident(schema)} -c TimeZone=UTC`;
  const pool = new pg.Pool({ connectionString: options.url, max: 3, options: session });
  const reader = `${schema}_reader`;
  const password = createHmac('sha256', options.secret).update('flamingo warehouse reader').digest('base64url');
  const readerUrl = options.readerUrl ?? withUser(options.url, reader, password);
  const readers = new pg.Pool({ connectionString: readerUrl, max: 4, options: session });
  const serial = serialWriter();
  try {
    const client = await pool.connect();
    try {
      // Several processes may start at once: one sets up the schema at a time.
      await inTransaction(client, async () => {
        await client.query(`SELECT pg_advisory_xact_lock(hashtext(${literal(`flamingo.warehouse.${schema}`)}))`);
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`);
        // One row per event: its identity is source + id (CloudEvents). A warehouse made when the key
        // was the id alone keeps that key until its next rebuild.
        await client.query(`CREATE TABLE IF NOT EXISTS events (${eventsColumnsSql('postgres')}, PRIMARY KEY (source, id))`);
        await client.query('DROP TABLE IF EXISTS events_next');
        for (const view of allViews('postgres')) await client.query(`DROP VIEW IF EXISTS ${view.name}`);
        for (const view of allViews('postgres')) await client.query(view.sql);
        if (!options.readerUrl) {
          const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [reader]);
          const verb = exists.rowCount === 0 ? 'CREATE' : 'ALTER';
          await client.query(`${verb} ROLE ${ident(reader)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD ${literal(password)}`);
          await client.query(`GRANT USAGE ON SCHEMA ${ident(schema)} TO ${ident(reader)}`);
          await client.query(`GRANT SELECT ON ALL TABLES IN SCHEMA ${ident(schema)} TO ${ident(reader)}`);
          await client.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA ${ident(schema)} GRANT SELECT ON TABLES TO ${ident(reader)}`);
        }
      });
    } finally {
      client.release();
    }
  } catch (error) {
    await Promise.all([pool.end(), readers.end()]);
    throw error;
  }

  const withClient = async <T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    try {
      return await work(client);
    } finally {
      client.release();
    }
  };

  return {
    dialect: 'postgres',
    location: schema,
    land: (rows) =>
      serial(() =>
        withClient((client) =>
          inTransaction(client, async () => {
            if (rows.length === 0) return 0;
            await client.query('CREATE TEMP TABLE events_staging (LIKE events) ON COMMIT DROP');
            await copyInto(client, 'events_staging', rows);
            const moved = await client.query(`INSERT INTO events SELECT DISTINCT ON (source, id) * FROM events_staging ORDER BY source, id, sequence ON CONFLICT DO NOTHING`);
            return moved.rowCount ?? 0;
          }),
        ),
      ),
    async startRebuild() {
      // One rebuild at a time across every process on this schema, or a second would drop the
      // first's copy under it: a session advisory lock, held by a connection of its own until the
      // rebuild has finished or is abandoned (a failed `finish` keeps it for the `abandon` that
      // follows; a crashed process's session ends, and the lock with it).
      const holder = new pg.Client({ connectionString: options.url, options: session });
      // A lost connection loses the lock with it; the rebuild itself goes on through the pool.
      holder.on('error', () => undefined);
      await holder.connect();
      const key = `flamingo.warehouse.rebuild.${schema}`;
      // Ending the session releases its advisory locks.
      let released: Promise<void> | undefined;
      const release = () => (released ??= holder.end().catch(() => undefined));
      try {
        const { rows: locked } = await holder.query<{ held: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS held', [key]);
        if (!locked[0]?.held) {
          throw new RebuildRunningError(`a warehouse rebuild of schema ${JSON.stringify(schema)} is already running (in this or another process); wait for it to finish`);
        }
        await withClient(async (client) => {
          await client.query('DROP TABLE IF EXISTS events_next');
          await client.query(`CREATE TABLE events_next (${eventsColumnsSql('postgres')})`);
        });
      } catch (error) {
        await release();
        throw error;
      }
      return {
        append: (rows) => withClient((client) => copyInto(client, 'events_next', rows)),
        finish: (remaining) =>
          serial(() =>
            withClient((client) =>
              inTransaction(client, async () => {
                // Other processes' landings wait here; afterwards they land in the new table.
                await client.query('LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE');
                await copyInto(client, 'events_next', await remaining());
                await client.query('ALTER TABLE events_next ADD PRIMARY KEY (source, id)');
                for (const view of allViews('postgres')) await client.query(`DROP VIEW IF EXISTS ${view.name}`);
                await client.query('DROP TABLE events');
                await client.query('ALTER TABLE events_next RENAME TO events');
                await client.query('ALTER INDEX events_next_pkey RENAME TO events_pkey');
                for (const view of allViews('postgres')) await client.query(view.sql);
              }),
            ),
          ).then(release),
        abandon: () => withClient(async (client) => void (await client.query('DROP TABLE IF EXISTS events_next'))).finally(release),
      } satisfies RebuildTarget;
    },
    query: (sql, limits) => queryPostgres(readers, sql, limits),
    async scan(afterSequence, limit) {
      const result = await pool.query(`SELECT ${EVENT_COLUMNS.join(', ')} FROM events WHERE sequence > $1 ORDER BY sequence LIMIT $2`, [afterSequence, limit]);
      return result.rows.map(fromRow);
    },
    async stats() {
      const result = await pool.query<{ rows: string; last: string }>('SELECT count(*) AS rows, coalesce(max(sequence), 0) AS last FROM events');
      return { rows: Number(result.rows[0]?.rows ?? 0), lastSequence: Number(result.rows[0]?.last ?? 0) };
    },
    close: () => serial(async () => void (await Promise.all([pool.end(), readers.end()]))),
  };
}

function withUser(url: string, user: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = encodeURIComponent(user);
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

async function queryPostgres(readers: pg.Pool, sql: string, limits: QueryLimits): Promise<QueryResult> {
  const client = await readers.connect();
  let broken = false;
  try {
    await client.query('BEGIN READ ONLY');
    await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(limits.timeoutMs))}`);
    // A cursor runs the statement through the extended protocol: exactly one statement, read in part.
    const cursor = client.query(new Cursor(sql, [], { rowMode: 'array' }));
    try {
      const { rows: all, fields } = await new Promise<{ rows: unknown[][]; fields: readonly pg.FieldDef[] }>((resolve, reject) =>
        cursor.read(limits.maxRows + 1, (error, rows, result) => (error ? reject(error) : resolve({ rows: rows as unknown[][], fields: result.fields }))),
      );
      const types = fields.map((f) => PG_TYPES[f.dataTypeID] ?? `oid ${f.dataTypeID}`);
      const rows = all.slice(0, limits.maxRows).map((values) => {
        const row: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
        fields.forEach((field, i) => (row[field.name] = types[i] === 'date' ? dateOnly(values[i]) : types[i] === 'numeric' || types[i] === 'bigint' ? numeric(values[i]) : jsonValue(values[i])));
        return row;
      });
      return { columns: fields.map((f, i) => ({ name: f.name, type: types[i] ?? 'unknown' })), rows, truncated: all.length > limits.maxRows };
    } finally {
      await cursor.close().catch(() => undefined);
    }
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === '57014') throw new QueryError('query_timeout', `the query ran longer than ${limits.timeoutMs} ms and was cancelled`);
    if (code === '25006' || code === '42501') throw new QueryError('read_only', `the warehouse is read-only to queries: ${(error as Error).message}`);
    if (code === undefined) broken = true;
    throw new QueryError('invalid_query', (error as Error).message);
  } finally {
    await client.query('ROLLBACK').catch(() => (broken = true));
    client.release(broken);
  }
}

/** numeric arrives as a string; a number when exact. */
function numeric(value: unknown): unknown {
  if (typeof value !== 'string') return jsonValue(value);
  const n = Number(value);
  return Number.isFinite(n) && String(n) === value ? n : value;
}
