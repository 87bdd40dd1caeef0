/**
 * What a running Flamingo has stored, as one comparable value: every row of every table of every
 * SQLite database in its data dir (the bus log, keys, each service) and, when the services are on
 * PostgreSQL, of every table of that database. Tests take it before and after a refused request to
 * show that nothing was stored.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Bus } from '../../src/bus/index.ts';

/** Per `<database>.<table>`: the number of rows and a digest of their content. */
export type DatabaseState = Record<string, { rows: number; digest: string }>;

const digestOf = (rows: readonly unknown[]) => createHash('sha256').update(JSON.stringify(rows)).digest('hex').slice(0, 16);

function sqliteState(dataDir: string, state: DatabaseState): void {
  for (const file of readdirSync(dataDir).filter((name) => name.endsWith('.db')).sort()) {
    const db = new Database(path.join(dataDir, file), { readonly: true, fileMustExist: true });
    try {
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[];
      for (const { name } of tables) {
        const rows = db.prepare(`SELECT * FROM "${name}" ORDER BY 1`).all();
        state[`${file}.${name}`] = { rows: rows.length, digest: digestOf(rows) };
      }
    } finally {
      db.close();
    }
  }
}

async function postgresState(databaseUrl: string, state: DatabaseState): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ schema: string; name: string }>(
      `SELECT table_schema AS schema, table_name AS name FROM information_schema.tables
        WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2`,
    );
    for (const { schema, name } of tables) {
      const { rows } = await client.query(`SELECT t::text AS row FROM "${schema}"."${name}" t ORDER BY 1`);
      state[`${schema}.${name}`] = { rows: rows.length, digest: digestOf(rows) };
    }
  } finally {
    await client.end();
  }
}

/** The stored state of the Flamingo whose data dir (and PostgreSQL database, if any) are given. */
export async function databaseState(dataDir: string, databaseUrl?: string): Promise<DatabaseState> {
  const state: DatabaseState = {};
  sqliteState(dataDir, state);
  if (databaseUrl) await postgresState(databaseUrl, state);
  return state;
}

/** What `settledDatabaseState` can wait for besides the databases. */
export interface SettleOptions {
  /** (Default: 10 000 ms) */
  readonly timeoutMs?: number;
  /**
   * The running bus: first wait until every subscription has handled the log (no lag, nothing in
   * flight or retrying), since a consumer slower than the 100 ms between two reads (the warehouse's
   * transaction under load) would otherwise move its position after the state was taken.
   */
  readonly bus?: Pick<Bus, 'subscriptions'>;
}

/** The stored state once background work (outbox relays, subscriptions) has stopped changing it: two reads 100 ms apart agree. */
export async function settledDatabaseState(dataDir: string, databaseUrl?: string, options: SettleOptions = {}): Promise<DatabaseState> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (options.bus) {
    for (const until = Date.now() + timeoutMs; ; ) {
      const busy = (await options.bus.subscriptions()).filter((s) => s.lag > 0 || s.inFlight > 0 || s.retrying > 0);
      if (busy.length === 0) break;
      if (Date.now() > until) throw new Error(`subscriptions still busy after ${timeoutMs} ms: ${busy.map((s) => s.name).join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  let last = await databaseState(dataDir, databaseUrl);
  for (const until = Date.now() + timeoutMs; Date.now() < until; ) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = await databaseState(dataDir, databaseUrl);
    if (JSON.stringify(now) === JSON.stringify(last)) return now;
    last = now;
  }
  throw new Error(`the databases did not settle within ${timeoutMs} ms`);
}
