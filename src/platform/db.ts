import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, Migrator, PostgresAdapter, PostgresDialect, SqliteDialect, sql, type Migration } from 'kysely';
import pg from 'pg';

/** Where a service's own database lives. */
export interface DatabaseConfig {
  /** Directory of the SQLite files on the embedded default. */
  readonly dataDir: string;
  /** `postgres://…`: the service gets its own schema in this database instead of a SQLite file. */
  readonly databaseUrl?: string;
}

export type Dialect = 'sqlite' | 'postgres';

/** Connections per service database on PostgreSQL. */
const POOL_SIZE = 4;

export interface ServiceDatabase<DB> {
  readonly db: Kysely<DB>;
  readonly dialect: Dialect;
  /** The SQLite file or the PostgreSQL schema. */
  readonly location: string;
  close(): Promise<void>;
}

/**
 * Opens the database of one bounded context: `<dataDir>/<name>.db` (WAL, synchronous=FULL) on the
 * embedded default, or schema `<name>` of `databaseUrl` on PostgreSQL (created when missing).
 */
export async function openDatabase<DB>(name: string, config: DatabaseConfig): Promise<ServiceDatabase<DB>> {
  if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new Error(`database name "${name}" must be lower-case letters, digits and _`);
  if (config.databaseUrl) {
    const bootstrap = new pg.Client({ connectionString: config.databaseUrl });
    await bootstrap.connect();
    try {
      await bootstrap.query(`CREATE SCHEMA IF NOT EXISTS "${name}"`);
    } catch (error) {
      // Two processes creating the same schema at once: the loser sees a unique violation.
      if ((error as { code?: string }).code !== '23505') throw error;
    } finally {
      await bootstrap.end();
    }
    // Small pools: every service of every process has its own, and PostgreSQL allows 100 clients by default.
    const pool = new pg.Pool({ connectionString: config.databaseUrl, max: POOL_SIZE, idleTimeoutMillis: 10_000, options: `-c search_path="${name}"` });
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
    return { db, dialect: 'postgres', location: name, close: () => db.destroy() };
  }
  mkdirSync(config.dataDir, { recursive: true });
  const file = path.join(config.dataDir, `${name}.db`);
  const sqlite = new Database(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: sqlite }) });
  return { db, dialect: 'sqlite', location: file, close: () => db.destroy() };
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
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`migration ${failed?.migrationName ?? '?'} failed: ${(error as Error).message ?? String(error)}`);
  }
}
