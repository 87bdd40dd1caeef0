import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type Database from 'better-sqlite3';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { createBus } from '../../bus/index.ts';
import { IdentityConflictError } from '../../bus/kit/index.ts';
import { buildEvent } from '../../bus/testing/index.ts';
import type { UnstoredEvent } from '../../contracts/index.ts';
import { EventReader, typeFilter } from './event-reader.ts';
import { sqliteEngine, type SqliteEngine } from './index.ts';
import { LogWriter } from './log-writer.ts';
import { openLogDatabase } from './schema.ts';

/** An envelope of any type, as the engine takes it (the bus would check the type against the catalog). */
function envelope(type: string, id: string, data: unknown): UnstoredEvent {
  return { specversion: '1.0', id, source: '/lag', type, time: new Date().toISOString(), datacontenttype: 'application/json', data };
}

function tempFile(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'flamingo-lag-')), 'bus.db');
}

/** Numbers in [0, 1) from a seeded generator, so a failing run can be repeated. */
function random(seed: number): () => number {
  const generator = xoroshiro128plus(seed);
  return () => uniformFloat64(generator);
}

// Ordinary types, and some only SQLite compares its own way (non-ASCII, astral, NUL, a lone surrogate).
const TYPES = ['order.placed', 'order.cancelled', 'order.line.added', 'orders.archived', 'order', 'payment.failed', 'stock.low', 'ö.x', '😀.x', 'a\u0000b.x', 'a\uD800b.x'];
const PATTERNS = [
  ['*'],
  ['order.placed'],
  ['order.*'],
  ['order.*', 'order.placed'],
  ['orders.*', 'payment.failed'],
  ['order'],
  ['order.line.*'],
  ['nothing.here'],
  ['ö.x', '😀.x', 'a\u0000b.x', 'a\uD800b.x'],
  ['ö.*'],
  ['😀.*'],
  ['a\uD800b.*'],
];
// The prefixes the index leaves to SQL.
const UNINDEXED = new Set(['ö.*', '😀.*', 'a\uD800b.*']);

interface Log {
  readonly db: Database.Database;
  readonly writer: LogWriter;
  readonly reader: EventReader;
  /** The head when it opened: the index holds everything after it. */
  readonly from: number;
}

function openLog(file: string): Log {
  const db = openLogDatabase(file);
  const writer = new LogWriter(db, { stateFlushMs: 5, onAppended: () => undefined });
  return { db, writer, reader: new EventReader(db, writer.index), from: writer.head };
}

const logs: Log[] = [];
const engines: SqliteEngine[] = [];
afterEach(async () => {
  for (const log of logs.splice(0)) {
    log.writer.close();
    log.db.close();
  }
  await Promise.all(engines.splice(0).map((engine) => engine.close()));
});

describe('lag counts of the SQLite engine', () => {
  it('equal the count of the rows, over random logs with duplicates, rolled-back batches and restarts', async () => {
    const next = random(7);
    const file = tempFile();
    const stored = new Map<string, UnstoredEvent>();
    let made = 0;
    const fresh = (): UnstoredEvent => {
      made++;
      const type = TYPES[Math.floor(next() * next() * TYPES.length)];
      return envelope(type, `e-${made}`, { made });
    };
    let fastCounts = 0;
    let refused = 0;
    for (let run = 0; run < 3; run++) {
      const log = openLog(file);
      logs.push(log);
      for (let round = 0; round < 40; round++) {
        // Appends of one turn share a transaction; each one is all-or-nothing in it.
        const batches: UnstoredEvent[][] = [];
        for (let b = 1 + Math.floor(next() * 5); b > 0; b--) {
          const batch: UnstoredEvent[] = [];
          for (let n = 1 + Math.floor(next() * 12); n > 0; n--) {
            const roll = next();
            const earlier = [...stored.values()][Math.floor(next() * stored.size)];
            if (roll < 0.1 && earlier) batch.push(earlier);
            // The same identity with other content: the whole batch is refused and rolled back.
            else if (roll < 0.13 && earlier) batch.push({ ...earlier, data: { other: true } });
            else batch.push(fresh());
          }
          batches.push(batch);
        }
        const settled = await Promise.allSettled(batches.map((batch) => log.writer.append(batch)));
        settled.forEach((outcome, b) => {
          if (outcome.status === 'rejected') {
            expect(outcome.reason).toBeInstanceOf(IdentityConflictError);
            refused++;
          } else for (const event of batches[b]) if (!stored.has(event.id)) stored.set(event.id, event);
        });
        const head = log.writer.head;
        for (const patterns of PATTERNS) {
          const filter = typeFilter(patterns);
          const positions = [0, log.from - 1, log.from, log.from + 1, Math.floor(log.from + next() * (head - log.from)), head - 1, head, head + 5];
          for (const after of positions.filter((p) => p >= 0)) {
            const rows = log.reader.countRowsAfter(filter, after);
            const fast = log.writer.index.count(filter.selection, after);
            const label = `run ${run} round ${round}: ${JSON.stringify(patterns)} after ${after} (index from ${log.from})`;
            if (after >= log.from && !patterns.some((p) => UNINDEXED.has(p))) {
              expect(fast, label).toBe(rows);
              fastCounts++;
            } else expect(fast, label).toBeUndefined();
            expect(log.reader.countAfter(filter, after), label).toBe(rows);
          }
        }
      }
      logs.pop();
      log.writer.close();
      log.db.close();
    }
    expect(stored.size).toBeGreaterThan(1000);
    expect(refused).toBeGreaterThan(20);
    expect(fastCounts).toBeGreaterThan(5_000);
  });

  it("shows a stored subscription's lag from before and after a restart", async () => {
    const file = tempFile();
    const added = (item: number) => buildEvent({ type: 'cart.item_added', data: { cartId: '0190a000-0000-7000-8000-00000000000a', items: [item], item } });
    let engine = sqliteEngine({ file });
    engines.push(engine);
    await engine.append([added(1), added(2), added(3)]);
    const subscription = await createBus({ engine }).subscribe({ name: 'lagging', types: ['cart.*'], startAt: 'now' }, async () => undefined);
    await subscription.close();
    await engine.append([added(4), added(5), envelope('user.registered', 'u-1', {})]);
    const lag = async () => (await engine.subscriptions()).find((s) => s.name === 'lagging')?.lag;
    expect(await lag()).toBe(2);
    await engine.close();
    // Reopened at sequence 6: its position (3) is before what the index holds, so the rows are counted.
    engine = sqliteEngine({ file });
    engines.push(engine);
    await engine.append([added(7), added(8)]);
    expect(await lag()).toBe(4);
    // After it: counted by the index.
    await engine.rewind('lagging', { sequence: 8 });
    expect(await lag()).toBe(1);
  });
});
