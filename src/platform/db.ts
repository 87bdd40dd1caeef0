import path from 'node:path';
import { Kysely, Migrator, PostgresAdapter, PostgresDialect, sql, type Migration } from 'kysely';
import pg from 'pg';
import { ensurePrivateDatabaseFile, ensurePrivateDir } from './private-files.ts';
import { ConfigError, redactedUrl } from './config.ts';
import { SqliteWorkerDialect } from './sqlite-worker.ts';

/** Where a service's own database lives. */
export interface DatabaseConfig {
  /** Directory of the SQLite files on the embedded default. */
  readonly dataDir: string;
  /** `postgres://…`: the service's database is on PostgreSQL instead of a SQLite file. */
  readonly databaseUrl?: string;
  /**
   * On PostgreSQL: `schema` gives each service a schema `<service>` in `databaseUrl`'s database;
   * `database` gives each service a database `<database>_<service>` of its own on that server.
   * (Default: 'schema')
   */
  readonly layout?: 'schema' | 'database';
  /**
   * On PostgreSQL: the most connections each service's pool opens (its outbox relay's `LISTEN`
   * connection comes on top). (Default: `DEFAULT_POOL_SIZE`, 4)
   */
  readonly poolSize?: number;
}

export type Dialect = 'sqlite' | 'postgres';

/** Connections per service database on PostgreSQL (`FLAMINGO_DATABASE_POOL_SIZE`). */
export const DEFAULT_POOL_SIZE = 4;

export interface ServiceDatabase<DB> {
  readonly db: Kysely<DB>;
  readonly dialect: Dialect;
  /** The SQLite file, the PostgreSQL schema or database. */
  readonly location: string;
  /** On PostgreSQL, the connection string of this service's database (for `LISTEN/NOTIFY` clients). */
  readonly url?: string;
  close(): Promise<void>;
}

/**
 * Opens the database of one bounded context: `<dataDir>/<name>.db` (WAL, synchronous=FULL, mode
 * 0600 with its `-wal`/`-shm`, the data dir 0700, its connection in a worker thread: `sqlite-worker.ts`) on the embedded default; on PostgreSQL schema `<name>` of `databaseUrl`, or database `<database>_<name>`
 * with `layout: 'database'` (created when missing).
 */
export async function openDatabase<DB>(name: string, config: DatabaseConfig): Promise<ServiceDatabase<DB>> {
  if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new Error(`database name "${name}" must be lower-case letters, digits and _`);
  if (config.databaseUrl) {
    if (config.layout === 'database') {
      const url = new URL(config.databaseUrl);
      const database = `${decodeURIComponent(url.pathname.slice(1)) || 'flamingo'}_${name}`;
      await bootstrap(config.databaseUrl, `CREATE DATABASE "${database}"`, '42P04');
      url.pathname = `/${encodeURIComponent(database)}`;
      const db = postgres<DB>(config.poolSize ?? DEFAULT_POOL_SIZE, url.toString());
      return { db, dialect: 'postgres', location: database, url: url.toString(), close: () => db.destroy() };
    }
    await bootstrap(config.databaseUrl, `CREATE SCHEMA IF NOT EXISTS "${name}"`);
    const db = postgres<DB>(config.poolSize ?? DEFAULT_POOL_SIZE, config.databaseUrl, `-c search_path="${name}"`);
    return { db, dialect: 'postgres', location: name, url: config.databaseUrl, close: () => db.destroy() };
  }
  ensurePrivateDir(config.dataDir);
  const file = path.join(config.dataDir, `${name}.db`);
  ensurePrivateDatabaseFile(file);
  // Its connection lives in a worker thread: commits (and their fsync) never block the event loop.
  const db = new Kysely<DB>({ dialect: new SqliteWorkerDialect({ file }) });
  return { db, dialect: 'sqlite', location: file, close: () => db.destroy() };
}

/**
 * How long start-up's first connection may take before `DATABASE_URL` is reported unreachable: a
 * server behind a firewall that drops packets, or one that accepts and never answers, would
 * otherwise hold start-up for minutes. The URL's `connect_timeout` (seconds, libpq's) wins.
 * (Default: 10 000 ms)
 */
export const CONNECT_TIMEOUT_MS = 10_000;

function connectTimeoutMs(connectionString: string): number {
  const seconds = Number(new URL(connectionString).searchParams.get('connect_timeout') ?? '');
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1_000 : CONNECT_TIMEOUT_MS;
}

/** Runs one statement that creates something, tolerating a concurrent creator (and `alreadyThere`). */
async function bootstrap(connectionString: string, statement: string, alreadyThere?: string): Promise<void> {
  const timeoutMs = connectTimeoutMs(connectionString);
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: timeoutMs });
  try {
    await client.connect();
  } catch (error) {
    // The first connection of start-up: name the setting, not only the driver's ECONNREFUSED or 3D000.
    const e = error as Error & { code?: string };
    // pg says "timeout expired" or "Connection terminated due to connection timeout".
    const why = !e.code && /timeout/i.test(e.message) ? `no answer within ${timeoutMs} ms` : `${e.code ? `${e.code}: ` : ''}${e.message || String(error)}`;
    throw new ConfigError([`DATABASE_URL: cannot connect to ${redactedUrl(connectionString)} (${why})`]);
  }
  try {
    await client.query(statement);
  } catch (error) {
    // Two processes creating the same thing at once: the loser sees a unique violation.
    const code = (error as { code?: string }).code;
    if (code !== '23505' && code !== alreadyThere) throw error;
  } finally {
    await client.end();
  }
}

/** A small pool: every service of every process has its own, and PostgreSQL allows 100 clients by default. */
function postgres<DB>(poolSize: number, connectionString: string, options?: string): Kysely<DB> {
  const pool = new pg.Pool({ connectionString, max: poolSize, idleTimeoutMillis: 10_000, ...(options === undefined ? {} : { options }) });
  return new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
}

/** Runs a service's numbered migrations (`'001_init'`, `'002_…'`) in name order; throws on the first failure. */
export async function migrate<DB>(db: Kysely<DB>, migrations: Record<string, Migration>): Promise<void> {
  // Kysely looks for its migration tables in every schema unless told which one: on PostgreSQL a
  // schema migrated before would make it skip creating them in this one.
  const schema = db.getExecutor().adapter instanceof PostgresAdapter ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema : undefined;
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  for (let attempt = 1; ; attempt += 1) {
    const { error, results } = await migrator.migrateToLatest();
    if (!error) return;
    // Kysely lists the tables of every schema to find its own: a schema someone else drops meanwhile
    // fails that listing (invalid_schema_name) before any migration ran (each runs in a transaction
    // on PostgreSQL). Trying again is safe.
    if ((error as { code?: string }).code === '3F000' && attempt < 3) continue;
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`migration ${failed?.migrationName ?? '?'} failed: ${(error as Error).message ?? String(error)}`);
  }
}
