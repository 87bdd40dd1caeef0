import type Database from 'better-sqlite3';
import { contentDigest, EngineClosedError, IdentityConflictError, type IdentityConflict, type PublishResult } from '../../bus/kit/index.ts';
import type { UnstoredEvent } from '../../contracts/index.ts';
import { TypeIndex } from './type-index.ts';

/** Subscription state that is written in the next transaction of the writer (acks, retries, dead letters). */
export interface StatePersister {
  /**
   * Writes pending state inside the writer's transaction (may throw to be tried again later) and
   * returns what to forget once that transaction has committed.
   */
  persist(): () => void;
}

export interface LogWriterOptions {
  /** How long state changes may wait for a transaction when no append comes (ms). */
  readonly stateFlushMs: number;
  /** Called after every commit that stored events, with the new head. */
  readonly onAppended: (head: number) => void;
}

export interface LogWriterStats {
  /** Write transactions committed. */
  readonly transactions: number;
  /** Append calls (batches) committed. */
  readonly batches: number;
  /** Events stored (duplicates not counted). */
  readonly events: number;
}

interface PendingBatch {
  readonly events: readonly UnstoredEvent[];
  readonly envelopes: string[];
  readonly digests: string[];
  readonly resolve: (results: PublishResult[]) => void;
  readonly reject: (error: unknown) => void;
  results?: PublishResult[];
  error?: unknown;
}

/**
 * Group commit: appends queued during one turn of the event loop are written in ONE transaction
 * (one fsync) on the next turn, and their promises resolve after the commit. Each append call is
 * all-or-nothing within that transaction (a savepoint), so a failing batch leaves its neighbours
 * alone. Pending subscription state rides along in the same transaction, or is written on its own
 * after `stateFlushMs`.
 */
export class LogWriter {
  private queue: PendingBatch[] = [];
  private readonly dirty = new Set<StatePersister>();
  private appendScheduled = false;
  private stateTimer: NodeJS.Timeout | undefined;
  private flushing = false;
  private closed = false;
  private lastRecordedMs: number;
  private headSequence: number;
  private readonly counters = { transactions: 0, batches: 0, events: 0 };
  /** The type and sequence of every event stored since the writer opened, for cheap counts. */
  readonly index: TypeIndex;
  private readonly insert: Database.Statement;
  private readonly storedOf: Database.Statement<[string, string], { sequence: number; digest: string | null }>;
  private readonly writeBatch: (batch: PendingBatch, recordedMs: number) => PublishResult[];
  private readonly persistState: (persister: StatePersister) => () => void;
  private readonly commit: (batches: PendingBatch[], persisters: StatePersister[], recordedMs: number) => (() => void)[];

  constructor(
    db: Database.Database,
    private readonly options: LogWriterOptions,
  ) {
    this.headSequence = (db.prepare('SELECT max(sequence) FROM events').pluck().get() as number | null) ?? 0;
    this.lastRecordedMs = (db.prepare('SELECT max(recorded_ms) FROM events').pluck().get() as number | null) ?? 0;
    this.index = new TypeIndex(this.headSequence);
    this.insert = db.prepare(
      'INSERT INTO events (id, source, type, subject, partitionkey, recorded_ms, envelope, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, id) DO NOTHING',
    );
    this.storedOf = db.prepare<[string, string], { sequence: number; digest: string | null }>('SELECT sequence, digest FROM events WHERE source = ? AND id = ?');
    const insertAll = (batch: PendingBatch, recordedMs: number): PublishResult[] => {
      const results: PublishResult[] = new Array<PublishResult>(batch.events.length);
      const conflicts: IdentityConflict[] = [];
      for (let i = 0; i < batch.events.length; i++) {
        const event = batch.events[i];
        const digest = batch.digests[i];
        const info = this.insert.run(event.id, event.source, event.type, event.subject ?? null, event.partitionkey ?? null, recordedMs, batch.envelopes[i], digest);
        if (info.changes === 1) {
          results[i] = { id: event.id, sequence: Number(info.lastInsertRowid), duplicate: false };
          continue;
        }
        const stored = this.storedOf.get(event.source, event.id)!;
        // A row of layout 1 has no digest: taken as identical, as that layout did.
        if (stored.digest !== null && stored.digest !== digest) conflicts.push({ index: i, id: event.id, source: event.source, sequence: stored.sequence });
        results[i] = { id: event.id, sequence: stored.sequence, duplicate: true };
      }
      // Thrown inside the batch's savepoint (or before a lone event was stored): nothing of it stays.
      if (conflicts.length > 0) throw new IdentityConflictError(conflicts);
      return results;
    };
    // Nested better-sqlite3 transactions are savepoints: a throwing batch rolls back alone.
    const insertAllAtomically = db.transaction(insertAll);
    this.writeBatch = (batch, recordedMs) => (batch.events.length === 1 ? insertAll(batch, recordedMs) : insertAllAtomically(batch, recordedMs));
    this.persistState = db.transaction((persister: StatePersister) => persister.persist());
    this.commit = db.transaction((batches: PendingBatch[], persisters: StatePersister[], recordedMs: number) => {
      for (const batch of batches) {
        try {
          batch.results = this.writeBatch(batch, recordedMs);
        } catch (error) {
          batch.error = error;
        }
      }
      const committed: (() => void)[] = [];
      for (const persister of persisters) {
        try {
          const forget = this.persistState(persister);
          committed.push(() => {
            this.dirty.delete(persister);
            forget();
          });
        } catch {
          // Stays dirty: written again with the next transaction.
        }
      }
      return committed;
    });
  }

  /** The sequence of the last committed event. */
  get head(): number {
    return this.headSequence;
  }

  stats(): LogWriterStats {
    return { ...this.counters };
  }

  /** Queues one all-or-nothing batch for the next group commit; resolves after it is on disk. */
  append(events: readonly UnstoredEvent[]): Promise<PublishResult[]> {
    if (this.closed) return Promise.reject(new EngineClosedError('sqlite'));
    if (!Array.isArray(events)) return Promise.reject(new TypeError('append expects an array of events'));
    if (events.length === 0) return Promise.resolve([]);
    // Everything that can fail for one batch alone is checked before the transaction.
    const envelopes: string[] = new Array<string>(events.length);
    const digests: string[] = new Array<string>(events.length);
    try {
      for (let i = 0; i < events.length; i++) {
        const event = events[i];
        if (typeof event?.id !== 'string' || event.id.length === 0) throw new TypeError(`event ${i}: id must be a non-empty string`);
        if (typeof event.type !== 'string' || event.type.length === 0) throw new TypeError(`event ${i}: type must be a non-empty string`);
        if (typeof event.source !== 'string' || event.source.length === 0) throw new TypeError(`event ${i}: source must be a non-empty string`);
        envelopes[i] = JSON.stringify(event);
        digests[i] = contentDigest(event);
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ events, envelopes, digests, resolve, reject });
      if (!this.appendScheduled) {
        this.appendScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Asks for `persister.persist()` in the next transaction (at the latest after `stateFlushMs`). */
  markDirty(persister: StatePersister): void {
    this.dirty.add(persister);
    if (!this.stateTimer && !this.appendScheduled && !this.closed) {
      this.stateTimer = setTimeout(() => {
        this.stateTimer = undefined;
        this.flush();
      }, this.options.stateFlushMs);
      this.stateTimer.unref();
    }
  }

  /** Commits everything pending now (appends and state), e.g. before an admin read. */
  flush(): void {
    this.appendScheduled = false;
    if (this.flushing) return;
    if (this.stateTimer) {
      clearTimeout(this.stateTimer);
      this.stateTimer = undefined;
    }
    const batches = this.queue;
    if (batches.length === 0 && this.dirty.size === 0) return;
    this.queue = [];
    this.flushing = true;
    const recordedMs = Math.max(Date.now(), this.lastRecordedMs);
    let stored = 0;
    try {
      const committed = this.commit(batches, [...this.dirty], recordedMs);
      this.counters.transactions++;
      for (const forget of committed) forget();
    } catch (error) {
      for (const batch of batches) {
        batch.results = undefined;
        batch.error ??= error;
      }
    } finally {
      this.flushing = false;
    }
    let head = this.headSequence;
    for (const batch of batches) {
      if (!batch.results) continue;
      this.counters.batches++;
      for (let i = 0; i < batch.results.length; i++) {
        const result = batch.results[i];
        if (result.duplicate) continue;
        stored++;
        this.index.add(batch.events[i].type, result.sequence);
        if (result.sequence > head) head = result.sequence;
      }
    }
    this.counters.events += stored;
    if (stored > 0) {
      this.lastRecordedMs = recordedMs;
      this.headSequence = head;
      this.options.onAppended(head);
    }
    for (const batch of batches) {
      if (batch.results) batch.resolve(batch.results);
      else batch.reject(batch.error);
    }
    if (this.dirty.size > 0 && !this.closed) this.markDirty(this.dirty.values().next().value as StatePersister);
  }

  /** Commits what is pending and refuses further appends. */
  close(): void {
    this.flush();
    this.closed = true;
    if (this.stateTimer) clearTimeout(this.stateTimer);
    this.stateTimer = undefined;
  }
}
