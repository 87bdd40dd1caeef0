import type { MessagePort } from 'node:worker_threads';
import type { IdentityConflict } from '../../bus/kit/index.ts';
import type { StateWrite } from './state-store.ts';

/**
 * The log's one writing connection, in a worker thread (DESIGN.md "Runtime": no fsync runs on the
 * event loop that serves HTTP). The main thread sends `CommitRequest`s over a MessagePort; the worker
 * writes every request that has arrived — all that came while the previous commit's fsync ran — in
 * ONE transaction and answers each with a `CommitReply` once that transaction is on disk. The
 * protocol is the types below; the worker itself is plain CommonJS (`WORKER_SOURCE`).
 */

/**
 * Columns of one event as inserted, `FIELDS` per event: id, source, type, subject, partitionkey,
 * envelope (JSON), digest (`contentDigest`).
 */
export const FIELDS = 7;

/** Work for the next transaction. */
export interface CommitRequest {
  readonly kind: 'commit';
  readonly id: number;
  /** Append calls, each all-or-nothing: `FIELDS` values per event. */
  readonly batches: readonly (readonly (string | null)[])[];
  /** Subscription state, each write all-or-nothing, after the appends of the same request. */
  readonly writes: readonly StateWrite[];
}

/** The writer checkpoints itself once the WAL holds this many pages (the checkpointer worker failed). */
export interface AutocheckpointRequest {
  readonly kind: 'autocheckpoint';
  readonly pages: number;
}

/** Commits what has arrived, closes the connection and ends the worker. */
export interface CloseRequest {
  readonly kind: 'close';
}

export type LogRequest = CommitRequest | AutocheckpointRequest | CloseRequest;

/** An error as thrown in the worker; `conflicts` when it was an identity conflict. */
export interface WireError {
  readonly message: string;
  readonly name?: string;
  readonly code?: string;
  readonly conflicts?: readonly IdentityConflict[];
}

/** The outcome of one request. */
export interface CommitReply {
  readonly id: number;
  /**
   * Per batch: one number per event — its sequence, negated when the event was already stored
   * (duplicate) — or the error that left the whole batch out.
   */
  readonly results: readonly (readonly number[] | { readonly error: WireError })[];
  /** Per write: null when written, else its error (nothing of it written). */
  readonly writes: readonly (WireError | null)[];
}

/** What the worker posts after each transaction (committed or rolled back). */
export interface CommitReport {
  readonly replies: readonly CommitReply[];
  /** The sequence of the last committed event. */
  readonly head: number;
  /** 1 when the transaction committed, 0 when it failed as a whole. */
  readonly transactions: number;
}

/** The worker's first message, posted before it signals the main thread. */
export type ReadyReport = { readonly ready: true; readonly head: number } | { readonly ready: false; readonly error: WireError };

/** What `workerData` carries. */
export interface LogWorkerData {
  readonly port: MessagePort;
  /** Int32Array over it: set to 1 (and notified) once the ready report is posted. */
  readonly signal: SharedArrayBuffer;
  readonly file: string;
  /** The resolved path of better-sqlite3. */
  readonly driver: string;
  /** `wal_autocheckpoint` of the writer. */
  readonly autocheckpointPages: number;
}

// Plain CommonJS for `eval`, so the worker needs no TypeScript loader. The SQL of the subscription
// state is here because the worker is the only writer; state-store.ts holds the reads.
export const WORKER_SOURCE = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { port, signal, file, driver, autocheckpointPages } = workerData;
const FIELDS = ${FIELDS};
const wire = (error) => ({
  message: String((error && error.message) || error),
  name: error && error.name,
  code: error && error.code,
  conflicts: error && error.conflicts,
});

let db;
let s;
let head = 0;
let lastRecordedMs = 0;
let insertAllAtomically;
let applyAtomically;
let transaction;

const insertAll = (fields, recordedMs) => {
  const count = fields.length / FIELDS;
  const out = new Array(count);
  const conflicts = [];
  for (let i = 0; i < count; i++) {
    const o = i * FIELDS;
    const info = s.insert.run(fields[o], fields[o + 1], fields[o + 2], fields[o + 3], fields[o + 4], recordedMs, fields[o + 5], fields[o + 6]);
    if (info.changes === 1) {
      out[i] = Number(info.lastInsertRowid);
      continue;
    }
    const stored = s.storedOf.get(fields[o + 1], fields[o]);
    // A row of layout 1 has no digest: taken as identical, as that layout did.
    if (stored.digest !== null && stored.digest !== fields[o + 6]) conflicts.push({ index: i, id: fields[o], source: fields[o + 1], sequence: stored.sequence });
    out[i] = -stored.sequence;
  }
  // Thrown inside the batch's savepoint (or before a lone event was stored): nothing of it stays.
  if (conflicts.length > 0) {
    const error = new Error('identity conflict');
    error.name = 'IdentityConflictError';
    error.conflicts = conflicts;
    throw error;
  }
  return out;
};

const apply = (w) => {
  const name = w.subscription;
  const now = Date.now();
  if (w.create) s.create.run(name, JSON.stringify(w.create.types), w.create.position, now, now);
  if (w.types) s.setTypes.run(JSON.stringify(w.types), now, name);
  if (w.dropRetries) s.dropRetries.run(name);
  if (w.position) s.setPosition.run(w.position.position, JSON.stringify(w.position.done), now, name);
  if (w.deleteRetries) for (const sequence of w.deleteRetries) s.deleteRetry.run(name, sequence);
  if (w.putRetries) {
    for (const r of w.putRetries) s.upsertRetry.run(name, r.sequence, r.attempts, r.nextAttemptMs, r.lastError, r.firstFailedMs, r.lastFailedMs, r.redeliver ? 1 : 0);
  }
  if (w.deleteDeadLetters) for (const sequence of w.deleteDeadLetters) s.deleteDead.run(name, sequence);
  if (w.putDeadLetters) {
    for (const d of w.putDeadLetters) s.putDead.run(name, d.sequence, d.eventId, d.error, d.attempts, d.firstFailedMs, d.lastFailedMs);
  }
};

const commit = (requests) => {
  const recordedMs = Math.max(Date.now(), lastRecordedMs);
  const replies = requests.map((r) => ({ id: r.id, results: new Array(r.batches.length), writes: new Array(r.writes.length).fill(null) }));
  let top = head;
  let stored = 0;
  try {
    transaction(() => {
      for (let k = 0; k < requests.length; k++) {
        const request = requests[k];
        const reply = replies[k];
        for (let j = 0; j < request.batches.length; j++) {
          const fields = request.batches[j];
          try {
            // Nested better-sqlite3 transactions are savepoints: a throwing batch rolls back alone.
            reply.results[j] = fields.length === FIELDS ? insertAll(fields, recordedMs) : insertAllAtomically(fields, recordedMs);
          } catch (error) {
            reply.results[j] = { error: wire(error) };
          }
        }
        for (let j = 0; j < request.writes.length; j++) {
          try {
            applyAtomically(request.writes[j]);
          } catch (error) {
            reply.writes[j] = wire(error);
          }
        }
      }
    });
  } catch (error) {
    // Nothing of the transaction is stored.
    const failure = wire(error);
    for (const reply of replies) {
      reply.results.fill({ error: failure });
      reply.writes.fill(failure);
    }
    port.postMessage({ replies, head, transactions: 0 });
    return;
  }
  for (const reply of replies) {
    for (const result of reply.results) {
      if (!Array.isArray(result)) continue;
      for (const sequence of result) {
        if (sequence <= 0) continue;
        stored++;
        if (sequence > top) top = sequence;
      }
    }
  }
  if (stored > 0) {
    head = top;
    lastRecordedMs = recordedMs;
  }
  port.postMessage({ replies, head, transactions: 1 });
};

const queue = [];
let scheduled = false;
const drain = () => {
  scheduled = false;
  // Everything that arrived while the last commit ran goes into this one.
  for (let next = receiveMessageOnPort(port); next; next = receiveMessageOnPort(port)) queue.push(next.message);
  let commits = [];
  for (const request of queue.splice(0)) {
    if (request.kind === 'commit') commits.push(request);
    else if (request.kind === 'autocheckpoint') db.pragma('wal_autocheckpoint = ' + Number(request.pages));
    else if (request.kind === 'close') {
      if (commits.length > 0) commit(commits);
      commits = [];
      db.close();
      port.close();
      return;
    }
  }
  if (commits.length > 0) commit(commits);
};

const ready = new Int32Array(signal);
try {
  const Database = require(driver);
  db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('cache_size = -65536');
  db.pragma('wal_autocheckpoint = ' + Number(autocheckpointPages));
  s = {
    insert: db.prepare('INSERT INTO events (id, source, type, subject, partitionkey, recorded_ms, envelope, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, id) DO NOTHING'),
    storedOf: db.prepare('SELECT sequence, digest FROM events WHERE source = ? AND id = ?'),
    create: db.prepare("INSERT INTO subscriptions (name, types, position, done, created_ms, updated_ms) VALUES (?, ?, ?, '[]', ?, ?)"),
    setTypes: db.prepare('UPDATE subscriptions SET types = ?, updated_ms = ? WHERE name = ?'),
    setPosition: db.prepare('UPDATE subscriptions SET position = ?, done = ?, updated_ms = ? WHERE name = ?'),
    dropRetries: db.prepare('DELETE FROM retries WHERE subscription = ? AND redeliver = 0'),
    upsertRetry: db.prepare(
      'INSERT INTO retries (subscription, sequence, attempts, next_attempt_ms, last_error, first_failed_ms, last_failed_ms, redeliver) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ' +
        'ON CONFLICT (subscription, sequence) DO UPDATE SET attempts = excluded.attempts, next_attempt_ms = excluded.next_attempt_ms, ' +
        'last_error = excluded.last_error, first_failed_ms = excluded.first_failed_ms, last_failed_ms = excluded.last_failed_ms, redeliver = excluded.redeliver',
    ),
    deleteRetry: db.prepare('DELETE FROM retries WHERE subscription = ? AND sequence = ?'),
    putDead: db.prepare('INSERT OR REPLACE INTO dead_letters (subscription, sequence, event_id, error, attempts, first_failed_ms, last_failed_ms) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    deleteDead: db.prepare('DELETE FROM dead_letters WHERE subscription = ? AND sequence = ?'),
  };
  head = db.prepare('SELECT max(sequence) FROM events').pluck().get() ?? 0;
  lastRecordedMs = db.prepare('SELECT max(recorded_ms) FROM events').pluck().get() ?? 0;
  insertAllAtomically = db.transaction(insertAll);
  applyAtomically = db.transaction(apply);
  const inTransaction = db.transaction((fn) => fn());
  transaction = inTransaction;
  port.on('message', (request) => {
    queue.push(request);
    if (!scheduled) {
      scheduled = true;
      setImmediate(drain);
    }
  });
  port.postMessage({ ready: true, head });
} catch (error) {
  port.postMessage({ ready: false, error: wire(error) });
  if (db) db.close();
  port.close();
} finally {
  Atomics.store(ready, 0, 1);
  Atomics.notify(ready, 0);
}
`;
