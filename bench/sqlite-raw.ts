/**
 * The SQLite ceilings: what better-sqlite3 does with the same events and no bus or engine on top.
 * The table has the shape of the engine's log (src/engines/sqlite/schema.ts: integer sequence,
 * unique index on id, index on recorded time, the envelope as JSON text) and the same durability
 * (WAL, synchronous=FULL).
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { contentDigest } from '../src/bus/kit/index.ts';
import type { UnstoredEvent } from '../src/contracts/index.ts';
import { LOG_TABLE } from '../src/engines/sqlite/schema.ts';
import { dataPool, rawEnvelope } from './fixtures.ts';
import { nowMs, paced, percentiles, type Percentiles } from './stats.ts';


/**
 * A log table with the engine's durability. Checkpoints run between the timed transactions (the
 * engine runs them on another thread), so what is timed is insert + commit alone, while the WAL
 * stays small and is rewritten in place like the engine's: an upper bound.
 */
function openRaw(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('wal_autocheckpoint = 0');
  db.pragma('cache_size = -65536');
  // The engine's own log table, so the ceiling writes exactly what the engine writes.
  db.exec(LOG_TABLE);
  return db;
}

/** Copies the WAL back and restarts it from its beginning; call it outside the timed work. */
const checkpoint = (db: Database.Database) => db.pragma('wal_checkpoint(RESTART)');
/** Events between two checkpoints: about the engine's 4 000 pages of WAL. */
const CHECKPOINT_EVERY = 3_000;

function inserter(db: Database.Database) {
  const insert = db.prepare(
    'INSERT INTO events (id, source, type, subject, partitionkey, recorded_ms, envelope, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, id) DO NOTHING',
  );
  return (event: UnstoredEvent, recordedMs: number) =>
    insert.run(event.id, event.source, event.type, event.subject ?? null, event.partitionkey ?? null, recordedMs, JSON.stringify(event), contentDigest(event));
}

/**
 * Ceiling of the publish rate: `batch` events at a time stringified and inserted in one
 * transaction (one fsync), for `durationMs`. Only the transactions are timed (the envelopes are
 * built between them). Events/s.
 */
export function rawSqlitePublish(dir: string, options: { batch: number; durationMs: number }): { rate: number; events: number } {
  const db = openRaw(path.join(dir, 'raw-publish.db'));
  try {
    const pool = dataPool(1_000);
    const insertOne = inserter(db);
    const insertBatch = db.transaction((events: UnstoredEvent[]) => {
      const recordedMs = Date.now();
      for (const event of events) insertOne(event, recordedMs);
    });
    let done = 0;
    let timed = 0;
    const start = nowMs();
    while (nowMs() - start < options.durationMs) {
      const events = Array.from({ length: options.batch }, (_, i) => rawEnvelope(pool[(done + i) % pool.length]));
      const before = nowMs();
      insertBatch(events);
      timed += nowMs() - before;
      if (Math.floor((done + events.length) / CHECKPOINT_EVERY) > Math.floor(done / CHECKPOINT_EVERY)) checkpoint(db);
      done += events.length;
    }
    return { rate: (done * 1000) / timed, events: done };
  } finally {
    db.close();
  }
}

/**
 * Ceiling of the consume rate: every row of the log `file` (the engine's own, already filled)
 * read in sequence order, 1 000 rows a query, each envelope parsed. Events/s.
 */
export function rawSqliteScan(file: string): { events: number; rate: number } {
  const db = new Database(file, { readonly: true });
  try {
    const page = db.prepare<[number], { sequence: number; recorded_ms: number; envelope: string }>(
      'SELECT sequence, recorded_ms, envelope FROM events WHERE sequence > ? ORDER BY sequence LIMIT 1000',
    );
    let after = 0;
    let events = 0;
    let checksum = 0;
    const start = nowMs();
    for (;;) {
      const rows = page.all(after);
      if (rows.length === 0) break;
      for (const row of rows) {
        const event = JSON.parse(row.envelope) as { sequence?: number; recordedtime?: string; id: string };
        event.sequence = row.sequence;
        checksum += event.id.length;
      }
      after = rows[rows.length - 1].sequence;
      events += rows.length;
    }
    const ms = nowMs() - start;
    if (checksum === 0 && events > 0) throw new Error('scan read nothing');
    return { events, rate: (events * 1000) / ms };
  } finally {
    db.close();
  }
}

/**
 * Ceiling of the latency: one event per transaction (insert + commit with fsync) at `rate` per
 * second for `durationMs`; the time of each. Milliseconds.
 */
export async function rawSqliteLatency(dir: string, options: { rate: number; durationMs: number }): Promise<Percentiles> {
  const db = openRaw(path.join(dir, 'raw-latency.db'));
  try {
    const pool = dataPool(1_000);
    const insertOne = inserter(db);
    const times: number[] = [];
    await paced(options.rate, options.durationMs, (i) => {
      const event = rawEnvelope(pool[i % pool.length]);
      const start = nowMs();
      insertOne(event, Date.now());
      times.push(nowMs() - start);
      if ((i + 1) % CHECKPOINT_EVERY === 0) setImmediate(() => db.open && checkpoint(db));
    });
    return percentiles(times);
  } finally {
    db.close();
  }
}

/** Bytes one event's commit writes to the WAL: its table page and two index pages, and the subscription state riding along (4 pages of 4 KB). */
const COMMIT_BYTES = 16_384;

/**
 * The disk alone under a group commit, the floor of publish → durable here: events arrive at `rate`
 * per second for `durationMs`; on the next turn of the event loop everything that arrived is
 * "committed" as `COMMIT_BYTES` written in place in a file of fixed size and `fdatasync`ed
 * (synchronously, as better-sqlite3 commits), and each event's time from its arrival to the end of
 * that sync is taken (ms). An event arriving during a sync waits for it and then for its own, so
 * the p99 shows the disk's slow syncs as every event behind them sees them.
 */
export async function rawDiskGroupCommit(dir: string, options: { rate: number; durationMs: number }): Promise<Percentiles> {
  const file = path.join(dir, 'raw-sync.bin');
  const fd = fs.openSync(file, 'w+');
  try {
    const block = Buffer.alloc(COMMIT_BYTES, 7);
    const slots = 1_000;
    for (let i = 0; i < slots; i++) fs.writeSync(fd, block, 0, block.length, i * COMMIT_BYTES);
    fs.fsyncSync(fd);
    const times: number[] = [];
    let arrived: number[] = [];
    let commits = 0;
    let scheduled = false;
    const commit = () => {
      scheduled = false;
      const group = arrived;
      arrived = [];
      fs.writeSync(fd, block, 0, block.length, (commits++ % slots) * COMMIT_BYTES);
      fs.fdatasyncSync(fd);
      const end = nowMs();
      for (const at of group) times.push(end - at);
    };
    await paced(options.rate, options.durationMs, () => {
      arrived.push(nowMs());
      if (!scheduled) {
        scheduled = true;
        setImmediate(commit);
      }
    });
    while (scheduled) await new Promise((resolve) => setImmediate(resolve));
    return percentiles(times);
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
}
