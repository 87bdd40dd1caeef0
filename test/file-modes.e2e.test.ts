/**
 * The data dir is private (issue 7, item 10): Flamingo creates it 0700 and every file in it — the
 * bus log, each service's database with its `-wal`/`-shm`, the lock, the generated secrets — 0600,
 * whatever the umask; files an older Flamingo left readable are tightened at start.
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { startFlamingo, type RunningFlamingo } from '../src/app/flamingo.ts';
import { loadConfig } from '../src/platform/config.ts';
import { services } from '../src/services/index.ts';

let parent: string | undefined;
let flamingo: RunningFlamingo | undefined;
afterEach(async () => {
  await flamingo?.close();
  flamingo = undefined;
  if (parent) rmSync(parent, { recursive: true, force: true });
});

const modeOf = (file: string) => statSync(file).mode & 0o777;
const modes = (dir: string) => Object.fromEntries(readdirSync(dir).map((name) => [name, modeOf(path.join(dir, name)).toString(8)]));

/** Starts every service on SQLite in `dataDir`, registers a user and publishes an event, so every database has written (and has its WAL). */
async function startAndWrite(dataDir: string): Promise<void> {
  const config = loadConfig({ FLAMINGO_DATA_DIR: dataDir, HOST: '127.0.0.1', LOG_LEVEL: 'silent' }, parent);
  flamingo = await startFlamingo({ ...config, port: 0 }, { registry: services });
  const registered = await fetch(`${flamingo.url}/v1/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'ada@example.com', name: 'Ada', password: 'a long enough password' }),
  });
  expect(registered.status).toBe(201);
  await flamingo.bus.publish({ type: 'cart.item_added', data: { items: [1], item: 1 } });
}

describe('file permissions of the data dir', () => {
  it('creates the data dir 0700 and every database, WAL, shm, lock and secret file 0600, whatever the umask', async () => {
    const umask = process.umask(0o022);
    try {
      parent = mkdtempSync(path.join(os.tmpdir(), 'flamingo-modes-'));
      const dataDir = path.join(parent, 'data');
      await startAndWrite(dataDir);
      const files = readdirSync(dataDir);
      // What this run must have made, so an empty dir cannot pass.
      expect(files).toEqual(expect.arrayContaining(['bus.db', 'bus.db-wal', 'bus.db-shm', 'bus.db.lock', 'users.db', 'users.db-wal', 'users.db-shm', 'flamingo.db', 'admin.key', 'token.secret']));
      expect(modeOf(dataDir).toString(8)).toBe('700');
      expect(modes(dataDir)).toEqual(Object.fromEntries(files.map((name) => [name, '600'])));
    } finally {
      process.umask(umask);
    }
  });

  it('tightens a data dir, databases and secrets an older Flamingo left readable to others', async () => {
    parent = mkdtempSync(path.join(os.tmpdir(), 'flamingo-modes-'));
    const dataDir = path.join(parent, 'data');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    const users = new Database(path.join(dataDir, 'users.db'));
    users.pragma('journal_mode = WAL');
    users.exec('CREATE TABLE leftover (x INTEGER)');
    users.close();
    writeFileSync(path.join(dataDir, 'admin.key'), 'flma_an-old-admin-key-of-enough-length\n', { mode: 0o644 });
    for (const name of readdirSync(dataDir)) chmodSync(path.join(dataDir, name), 0o644);
    expect(modeOf(path.join(dataDir, 'users.db')).toString(8)).toBe('644');

    await startAndWrite(dataDir);
    expect(modeOf(dataDir).toString(8)).toBe('700');
    const files = readdirSync(dataDir);
    expect(files).toEqual(expect.arrayContaining(['users.db', 'users.db-wal', 'admin.key']));
    expect(modes(dataDir)).toEqual(Object.fromEntries(files.map((name) => [name, '600'])));
  });
});
