/**
 * A service database for a test, on either dialect: a SQLite file in a temp dir, or a schema with
 * a unique name in the PostgreSQL at 127.0.0.1 (`TEST_DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/test`).
 * Use with `describe.each(DIALECTS)` so the same tests run on both.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Migration } from 'kysely';
import pg from 'pg';
import { migrate, openDatabase, type DatabaseConfig, type Dialect, type ServiceDatabase } from '../../src/platform/db.ts';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const DIALECTS: readonly Dialect[] = ['sqlite', 'postgres'];

export interface TestDatabase<DB> {
  readonly database: ServiceDatabase<DB>;
  /** What a service's `start` needs to open the same database again. */
  readonly config: DatabaseConfig;
  /** The SQLite file stem / PostgreSQL schema. */
  readonly name: string;
  /** Closes the database and removes the file or schema. */
  cleanup(): Promise<void>;
}

/** A unique database name: `<prefix>_<random>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}

/** Where a test's databases go: a temp dir, plus `DATABASE_URL` on PostgreSQL. */
export function testDatabaseConfig(dialect: Dialect, dataDir = mkdtempSync(path.join(os.tmpdir(), 'flamingo-svc-'))): DatabaseConfig {
  return dialect === 'postgres' ? { dataDir, databaseUrl: TEST_DATABASE_URL } : { dataDir };
}

/** Drops the PostgreSQL schemas named (a no-op on SQLite, whose files live in the temp dir). */
export async function dropSchemas(config: DatabaseConfig, names: readonly string[]): Promise<void> {
  if (config.databaseUrl) {
    const client = new pg.Client({ connectionString: config.databaseUrl });
    await client.connect();
    try {
      for (const name of names) await client.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
    } finally {
      await client.end();
    }
  }
  rmSync(config.dataDir, { recursive: true, force: true });
}

export async function openTestDatabase<DB>(dialect: Dialect, prefix: string, migrations: Record<string, Migration>): Promise<TestDatabase<DB>> {
  const config = testDatabaseConfig(dialect);
  const name = uniqueName(prefix);
  const database = await openDatabase<DB>(name, config);
  await migrate(database.db, migrations);
  return {
    database,
    config,
    name,
    async cleanup() {
      await database.close();
      await dropSchemas(config, [name]);
    },
  };
}
