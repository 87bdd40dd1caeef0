/**
 * Test support for the inbox and outbox tests: a service-like Kysely database on a real SQLite file
 * or in a fresh schema of the PostgreSQL on this machine, with the bus tables migrated. Imported by
 * tests only, through `src/bus/testing/index.ts`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
// Test support opens databases as a service does: the platform's one migration runner.
import { migrate } from '../../platform/db.ts';
import { busTablesMigration, type BusTables } from '../index.ts';

const BUS_MIGRATIONS = { '000_bus': busTablesMigration };

/** The PostgreSQL of the integration tests. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  readonly dialect: 'sqlite' | 'postgres';
  readonly db: Kysely<BusTables>;
  /** A second, independent connection pool to the same database (a second process). */
  openAnother(): Kysely<BusTables>;
  /** PostgreSQL: the URL for LISTEN. */
  readonly databaseUrl?: string;
  close(): Promise<void>;
}

function sqliteKysely(file: string): Kysely<BusTables> {
  const sqlite = new Database(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('busy_timeout = 5000');
  return new Kysely<BusTables>({ dialect: new SqliteDialect({ database: sqlite }) });
}

function postgresKysely(schema: string): Kysely<BusTables> {
  const pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 5, options: `-c search_path="${schema}"` });
  return new Kysely<BusTables>({ dialect: new PostgresDialect({ pool }) });
}

export async function openTestDatabase(dialect: 'sqlite' | 'postgres'): Promise<TestDatabase> {
  const others: Kysely<BusTables>[] = [];
  if (dialect === 'sqlite') {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'flamingo-bus-')), 'service.db');
    const db = sqliteKysely(file);
    await migrate(db, BUS_MIGRATIONS);
    return {
      dialect,
      db,
      openAnother: () => {
        const other = sqliteKysely(file);
        others.push(other);
        return other;
      },
      close: async () => {
        for (const other of others) await other.destroy();
        await db.destroy();
      },
    };
  }
  const schema = `bus_test_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA "${schema}"`);
  await admin.end();
  const dropSchema = async () => {
    const cleanup = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await cleanup.connect();
    await cleanup.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await cleanup.end();
  };
  const db = postgresKysely(schema);
  try {
    await migrate(db, BUS_MIGRATIONS);
  } catch (error) {
    await db.destroy();
    await dropSchema();
    throw error;
  }
  return {
    dialect,
    db,
    databaseUrl: TEST_DATABASE_URL,
    openAnother: () => {
      const other = postgresKysely(schema);
      others.push(other);
      return other;
    },
    close: async () => {
      for (const other of others) await other.destroy();
      await db.destroy();
      await dropSchema();
    },
  };
}
