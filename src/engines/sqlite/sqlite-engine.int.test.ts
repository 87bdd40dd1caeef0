import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { createBus } from '../../bus/index.ts';
import { buildEvent, engineConformance } from '../../bus/testing/index.ts';
import { LogInUseError, sqliteEngine, type SqliteEngine } from './index.ts';
import { openLogDatabase } from './schema.ts';

const opened: SqliteEngine[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((engine) => engine.close()));
});

function tempFile(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'flamingo-sqlite-')), 'bus.db');
}

function open(file = tempFile()): SqliteEngine {
  const engine = sqliteEngine({ file });
  opened.push(engine);
  return engine;
}

const cartEvent = (item: number, cartId = '0190a000-0000-7000-8000-00000000000a') =>
  buildEvent({ type: 'cart.item_added', data: { cartId, items: [item], item } });

// One engine owns a SQLite log: processes cannot share it.
engineConformance(
  'sqlite',
  async () => {
    const file = tempFile();
    return { engine: sqliteEngine({ file }), reopen: async () => sqliteEngine({ file }) };
  },
  { sharedLog: false },
);

describe('sqlite engine specifics', () => {
  it('opens the log durable: WAL, synchronous=FULL', () => {
    const db = openLogDatabase(tempFile());
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('synchronous', { simple: true })).toBe(2);
    } finally {
      db.close();
    }
  });

  it('moves a log of layout 1 (identity by id alone) to source + id; its events stay deduplicated', async () => {
    const file = tempFile();
    const old = new Database(file);
    old.exec(`
      CREATE TABLE events (sequence INTEGER PRIMARY KEY, id TEXT NOT NULL, type TEXT NOT NULL, subject TEXT, partitionkey TEXT, recorded_ms INTEGER NOT NULL, envelope TEXT NOT NULL);
      CREATE UNIQUE INDEX events_id ON events (id);
      CREATE INDEX events_recorded ON events (recorded_ms);
    `);
    const stored = buildEvent({ type: 'cart.item_added', id: 'old-1', source: '/shop-a', data: { items: [1], item: 1 } });
    old.prepare('INSERT INTO events (id, type, subject, partitionkey, recorded_ms, envelope) VALUES (?, ?, ?, ?, ?, ?)').run(stored.id, stored.type, null, null, Date.now(), JSON.stringify(stored));
    old.pragma('user_version = 1');
    old.close();
    const bus = createBus({ engine: open(file) });
    // Stored without a digest: a resend is taken as identical, as layout 1 did.
    expect(await bus.publish({ type: 'cart.item_added', id: 'old-1', source: '/shop-a', data: { items: [1], item: 1 } })).toEqual({ id: 'old-1', sequence: 1, duplicate: true });
    expect(await bus.publish({ type: 'cart.item_added', id: 'old-1', source: '/shop-b', data: { items: [2], item: 2 } })).toEqual({ id: 'old-1', sequence: 2, duplicate: false });
    expect((await bus.read({})).map((e) => e.source)).toEqual(['/shop-a', '/shop-b']);
  });

  it('group-commits concurrent appends: far fewer transactions than publishes, each call all-or-nothing', async () => {
    const engine = open();
    const bus = createBus({ engine });
    const before = engine.stats();
    const results = await Promise.all(
      Array.from({ length: 500 }, (_, i) => bus.publish({ type: 'cart.item_added', data: { items: [i], item: i } })),
    );
    const after = engine.stats();
    expect(new Set(results.map((r) => r.sequence)).size).toBe(500);
    expect(after.events - before.events).toBe(500);
    expect(after.batches - before.batches).toBe(500);
    expect(after.transactions - before.transactions).toBeLessThanOrEqual(5);
  });

  it('stores an id once also when it comes twice in one flush, in one batch or across calls', async () => {
    const engine = open();
    const a = cartEvent(1);
    const b = cartEvent(2);
    const [first, second, third] = await Promise.all([engine.append([a, a]), engine.append([a, b]), engine.append([b])]);
    expect(first.map((r) => r.duplicate)).toEqual([false, true]);
    expect(first[1].sequence).toBe(first[0].sequence);
    expect(second).toEqual([
      { id: a.id, sequence: first[0].sequence, duplicate: true },
      { id: b.id, sequence: second[1].sequence, duplicate: false },
    ]);
    expect(third).toEqual([{ id: b.id, sequence: second[1].sequence, duplicate: true }]);
    expect(await engine.head()).toBe(2);
  });

  it('fails one batch of a flush without failing its neighbours', async () => {
    const engine = open();
    const bad = { ...cartEvent(2), data: { big: 1n } };
    const outcomes = await Promise.allSettled([engine.append([cartEvent(1)]), engine.append([cartEvent(3), bad]), engine.append([cartEvent(4)])]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const stored = await engine.read({});
    expect(stored.map((e) => (e.data as { item: number }).item)).toEqual([1, 4]);
  });

  it('keeps recordedtime monotonic with the sequence', async () => {
    const engine = open();
    for (let i = 0; i < 5; i++) await engine.append([cartEvent(i)]);
    const events = await engine.read({});
    for (let i = 1; i < events.length; i++) expect(events[i].recordedtime >= events[i - 1].recordedtime).toBe(true);
  });

  it('writes acknowledgements in batches, within stateFlushMs of the ack', async () => {
    const file = tempFile();
    const engine = sqliteEngine({ file, stateFlushMs: 30 });
    opened.push(engine);
    const bus = createBus({ engine });
    const results = await bus.publishAll(Array.from({ length: 500 }, (_, i) => ({ type: 'cart.item_added' as const, data: { items: [i], item: i } })));
    const before = engine.stats().transactions;
    let handled = 0;
    await bus.subscribe({ name: 'fast', types: ['cart.*'] }, () => {
      handled++;
    });
    while (handled < 500) await new Promise((resolve) => setTimeout(resolve, 2));
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(engine.stats().transactions - before).toBeLessThan(20);
    // Read by another connection while the engine runs: the position is on disk.
    const db = new Database(file, { readonly: true });
    try {
      expect(db.prepare('SELECT position FROM subscriptions WHERE name = ?').pluck().get('fast')).toBe(results[499].sequence);
    } finally {
      db.close();
    }
  });

  it('hands every subscription the same event object, frozen in tests so no handler can change it for the others', async () => {
    const engine = open();
    const bus = createBus({ engine });
    const seen: unknown[] = [];
    await bus.subscribe({ name: 'mutating', types: ['cart.*'], retry: { maxAttempts: 1 } }, (event) => {
      seen.push(event);
      (event.data as { items: number[] }).items.push(99);
    });
    await bus.subscribe({ name: 'reading', types: ['cart.*'] }, (event) => {
      seen.push(event);
    });
    await bus.publish({ type: 'cart.item_added', data: { items: [1], item: 1 } });
    let dead: Awaited<ReturnType<typeof bus.deadLetters>> = [];
    while (seen.length < 2 || dead.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      dead = await bus.deadLetters('mutating');
    }
    expect(seen[0]).toBe(seen[1]);
    expect(dead[0].error).toMatch(/TypeError|not extensible|read.only/i);
    expect((await bus.read({}))[0].data).toEqual({ items: [1], item: 1 });
  });

  it('checkpoints the WAL into the database file in the background', async () => {
    const file = tempFile();
    const engine = open(file);
    const bus = createBus({ engine });
    const big = Array.from({ length: 200 }, (_, i) => i);
    for (let round = 0; round < 10; round++) {
      await bus.publishAll(Array.from({ length: 100 }, (_, i) => ({ type: 'cart.item_added' as const, data: { items: big, item: round * 100 + i } })));
    }
    const logBytes = 1000 * 800;
    const until = Date.now() + 5_000;
    while (fs.statSync(file).size < logBytes && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(fs.statSync(file).size).toBeGreaterThanOrEqual(logBytes);
  });

  it('lets a process that only used the engine go on after close and exit', () => {
    const script = [
      `import { sqliteEngine } from ${JSON.stringify(new URL('./index.ts', import.meta.url).href)};`,
      `const engine = sqliteEngine({ file: ${JSON.stringify(tempFile())} });`,
      `await engine.append([${JSON.stringify(cartEvent(1))}]);`,
      'await engine.close();',
      "console.log('closed');",
    ].join('\n');
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('closed');
    expect(result.status).toBe(0);
  });

  it('refuses a second engine on a log that is open, and lets one in once it is closed', async () => {
    const file = tempFile();
    const first = sqliteEngine({ file });
    expect(() => sqliteEngine({ file })).toThrow(LogInUseError);
    await first.close();
    const second = open(file);
    expect(await second.head()).toBe(0);
  });

  it('keeps the WAL bounded under steady writes (the writer checkpoints once the worker falls behind)', async () => {
    const file = tempFile();
    const engine = open(file);
    const items = Array.from({ length: 200 }, (_, i) => i);
    let maxWal = 0;
    // ~250 MB of WAL frames without a lull: without the backstop the WAL grows by all of it.
    for (let round = 0; round < 250; round++) {
      await Promise.all(
        Array.from({ length: 8 }, (_, k) => engine.append(Array.from({ length: 125 }, (_, j) => buildEvent({ type: 'cart.item_added', data: { items, item: round * 1000 + k * 125 + j } })))),
      );
      maxWal = Math.max(maxWal, fs.statSync(`${file}-wal`).size);
    }
    expect(await engine.head()).toBe(250_000);
    expect(maxWal).toBeLessThan(100 * 1024 * 1024);
  }, 60_000);
});
