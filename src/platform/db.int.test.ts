import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql, type Kysely, type Migration } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { migrate, openDatabase } from './db.ts';

// The real PostgreSQL of this machine; no server, no pass.
const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

interface Notes {
  notes: { id: number; text: string };
}
const migrations: Record<string, Migration> = {
  '001_notes': {
    up: (db: Kysely<unknown>) => db.schema.createTable('notes').addColumn('id', 'integer', (c) => c.primaryKey()).addColumn('text', 'text', (c) => c.notNull()).execute(),
  },
};

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

const serviceName = () => `svc_${randomBytes(4).toString('hex')}`;

describe('service databases', () => {
  it('gives each service a SQLite file of its own in the data dir', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'flamingo-db-'));
    const service = await openDatabase<Notes>('notes', { dataDir });
    await migrate(service.db, migrations);
    await service.db.insertInto('notes').values({ id: 1, text: 'kept' }).execute();
    await service.close();
    expect(service.location).toBe(path.join(dataDir, 'notes.db'));
    const again = await openDatabase<Notes>('notes', { dataDir });
    await migrate(again.db, migrations);
    expect(await again.db.selectFrom('notes').select('text').execute()).toEqual([{ text: 'kept' }]);
    await again.close();
  });

  it('gives each service a PostgreSQL schema of its own, migrated independently', async () => {
    const [a, b] = [serviceName(), serviceName()];
    cleanups.push(() => admin(`DROP SCHEMA IF EXISTS "${a}" CASCADE; DROP SCHEMA IF EXISTS "${b}" CASCADE`));
    const first = await openDatabase<Notes>(a, { dataDir: '.', databaseUrl: DATABASE_URL });
    const second = await openDatabase<Notes>(b, { dataDir: '.', databaseUrl: DATABASE_URL });
    await migrate(first.db, migrations);
    await migrate(second.db, migrations);
    await first.db.insertInto('notes').values({ id: 1, text: 'only in a' }).execute();
    expect(await second.db.selectFrom('notes').selectAll().execute()).toEqual([]);
    expect([first.location, first.url]).toEqual([a, DATABASE_URL]);
    await Promise.all([first.close(), second.close()]);
  });

  it("gives each service a PostgreSQL database of its own with layout 'database', also when two processes create it at once", async () => {
    const name = serviceName();
    const database = `test_${name}`;
    const config = { dataDir: '.', databaseUrl: DATABASE_URL, layout: 'database' as const };
    const [one, two] = await Promise.all([openDatabase<Notes>(name, config), openDatabase<Notes>(name, config)]);
    cleanups.push(() => admin(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`));
    await migrate(one.db, migrations);
    await migrate(two.db, migrations);
    await one.db.insertInto('notes').values({ id: 7, text: 'own database' }).execute();
    const { rows } = await sql<{ db: string }>`select current_database() as db`.execute(two.db);
    expect(rows[0].db).toBe(database);
    expect(one.location).toBe(database);
    expect(new URL(one.url!).pathname).toBe(`/${database}`);
    expect(await two.db.selectFrom('notes').select('text').execute()).toEqual([{ text: 'own database' }]);
    await Promise.all([one.close(), two.close()]);
  });

  it('refuses a name that is not a plain lower-case identifier', async () => {
    await expect(openDatabase('Orders; drop', { dataDir: '.' })).rejects.toThrow(/lower-case letters, digits and _/);
  });
});
