import type Database from 'better-sqlite3';
import { contentDigest, EngineClosedError, IdentityConflictError, type IdentityConflict, type PublishResult } from '../../bus/kit/index.ts';
import type { UnstoredEvent } from '../../contracts/index.ts';

/** Subscription state that is written in the next transaction of the writer (acks, retries, dead letters). */
export interface StatePersister {
  /**
   * Writes pending state inside the writer's transaction (may throw to be tried again later) and
   * returns what to forget once that transaction has committed.
   */
  persist(): () => void;
}

/**
 * Makes every transaction committed so far durable, for a connection that commits without syncing
 * (WAL, `synchronous = NORMAL`): the WAL file's `fdatasync`, which covers every frame written
 * before the call.
 */
export interface LogSync {
  /** Starts a sync off the event loop; `done` is called once it finished (or failed). */
  start(done: (error: Error | null) => void): void;
  /** Syncs on the spot (closing). Throws when it fails. */
  now(): void;
}

export interface LogWriterOptions {
  /** How long state changes may wait for a transaction when no append comes (ms). */
  readonly stateFlushMs: number;
  /** Called once events are durable (after the commit, or after the sync that covers it), with the new head. */
  readonly onAppended: (head: number) => void;
  /**
   * The sync of a connection that commits without one. Absent: every commit is synced itself
   * (`synchronous = FULL`), on the event loop.
   */
  readonly sync?: LogSync;
}

/** The sync failed: what was committed may not be on disk, so the writer takes nothing more. */
export class LogSyncError extends Error {
  override readonly name = 'LogSyncError';
}

/** A commit's batches, waiting for the sync that makes them durable. */
interface Committed {
  readonly batches: readonly PendingBatch[];
  /** The newest sequence this commit stored (0: none). */
  readonly head: number;
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
 * on the next turn, and their promises resolve once it is on disk. Each append call is
 * all-or-nothing within that transaction (a savepoint), so a failing batch leaves its neighbours
 * alone. Pending subscription state rides along in the same transaction, or is written on its own
 * after `stateFlushMs`.
 *
 * With `sync`, the fsync leaves the event loop: transactions commit without it, and one `fdatasync`
 * on libuv's thread pool covers every transaction committed before it started, while the next
 * ones commit. Appends resolve, and readers see their events (`head`), only after that sync: a
 * stored event is acknowledged and delivered only once on disk, as with a synced commit.
 * Subscription state written meanwhile becomes durable with the next sync (a power loss before it
 * redelivers those events; a killed process loses nothing the OS holds).
 */
export class LogWriter {
  private queue: PendingBatch[] = [];
  private readonly dirty = new Set<StatePersister>();
  private appendScheduled = false;
  private stateTimer: NodeJS.Timeout | undefined;
  private flushing = false;
  private closed = false;
  private lastRecordedMs: number;
  /** The newest event durable and visible to readers. */
  private headSequence: number;
  /** The newest event committed (durable once a sync covers it). */
  private committedSequence: number;
  /** Commits waiting for the next sync, and those the running sync covers. */
  private unsynced: Committed[] = [];
  private syncing: Committed[] | undefined;
  /** A commit was held back while the sync ran. */
  private flushAfterSync = false;
  private syncFailure: LogSyncError | undefined;
  private readonly counters = { transactions: 0, batches: 0, events: 0 };
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
    this.committedSequence = this.headSequence;
    this.lastRecordedMs = (db.prepare('SELECT max(recorded_ms) FROM events').pluck().get() as number | null) ?? 0;
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

  /** The sequence of the last event on disk: readers read up to here. */
  get head(): number {
    return this.headSequence;
  }

  stats(): LogWriterStats {
    return { ...this.counters };
  }

  /** Queues one all-or-nothing batch for the next group commit; resolves after it is on disk. */
  append(events: readonly UnstoredEvent[]): Promise<PublishResult[]> {
    if (this.closed) return Promise.reject(new EngineClosedError('sqlite'));
    if (this.syncFailure) return Promise.reject(this.syncFailure);
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
        setImmediate(() => this.flushWhenSynced());
      }
    });
  }

  /** Asks for `persister.persist()` in the next transaction (at the latest after `stateFlushMs`). */
  markDirty(persister: StatePersister): void {
    this.dirty.add(persister);
    if (!this.stateTimer && !this.appendScheduled && !this.closed) {
      this.stateTimer = setTimeout(() => {
        this.stateTimer = undefined;
        this.flushWhenSynced();
      }, this.options.stateFlushMs);
      this.stateTimer.unref();
    }
  }

  /**
   * Commits what is pending, or, while a sync runs, once it ended: a write to the file being synced
   * would wait for the sync on the event loop, and what gathers meanwhile goes in one transaction.
   */
  private flushWhenSynced(): void {
    if (this.syncing) {
      this.appendScheduled = false;
      this.flushAfterSync = true;
      return;
    }
    this.flush();
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
    let head = this.committedSequence;
    for (const batch of batches) {
      if (!batch.results) continue;
      this.counters.batches++;
      for (const result of batch.results) {
        if (result.duplicate) continue;
        stored++;
        if (result.sequence > head) head = result.sequence;
      }
    }
    this.counters.events += stored;
    if (stored > 0) {
      this.lastRecordedMs = recordedMs;
      this.committedSequence = head;
    }
    if (this.dirty.size > 0 && !this.closed) this.markDirty(this.dirty.values().next().value as StatePersister);
    if (batches.length === 0) return;
    const committed: Committed = { batches, head: stored > 0 ? head : 0 };
    if (!this.options.sync) {
      this.settle([committed], null);
      return;
    }
    this.unsynced.push(committed);
    this.startSync();
  }

  /** Starts a sync of what is committed, unless one runs (its end starts the next). */
  private startSync(): void {
    if (this.syncing || this.unsynced.length === 0) return;
    const covered = (this.syncing = this.unsynced);
    this.unsynced = [];
    this.options.sync!.start((error) => {
      // Settled already when `close` synced on the spot.
      if (this.syncing !== covered) return;
      this.syncing = undefined;
      this.settle(covered, error);
      if (this.flushAfterSync) {
        this.flushAfterSync = false;
        if (!this.closed) this.flush();
      }
      this.startSync();
    });
  }

  /** Makes durable commits visible and resolves their appends; after a failed sync, refuses everything. */
  private settle(commits: readonly Committed[], error: Error | null): void {
    if (error) {
      // What the OS could not write may be gone from its cache too: taking more would acknowledge
      // events stored after a hole. Only a restart (SQLite's recovery of the WAL) is safe.
      this.syncFailure ??= new LogSyncError(`the log could not be synced to disk (${error.message}); restart to recover it`, { cause: error });
      const pending = [...commits, ...(this.syncing ?? []), ...this.unsynced];
      this.syncing = undefined;
      this.unsynced = [];
      for (const commit of pending) for (const batch of commit.batches) batch.reject(batch.results ? this.syncFailure : batch.error);
      return;
    }
    let head = this.headSequence;
    for (const commit of commits) if (commit.head > head) head = commit.head;
    if (head > this.headSequence) {
      this.headSequence = head;
      this.options.onAppended(head);
    }
    for (const commit of commits) {
      for (const batch of commit.batches) {
        if (batch.results) batch.resolve(batch.results);
        else batch.reject(batch.error);
      }
    }
  }

  /** Commits what is pending and refuses further appends. */
  close(): void {
    this.flush();
    if (this.options.sync && (this.syncing || this.unsynced.length > 0)) {
      const commits = [...(this.syncing ?? []), ...this.unsynced];
      this.syncing = undefined;
      this.unsynced = [];
      let error: Error | null = null;
      try {
        this.options.sync.now();
      } catch (failure) {
        error = failure as Error;
      }
      this.settle(commits, error);
    }
    this.closed = true;
    if (this.stateTimer) clearTimeout(this.stateTimer);
    this.stateTimer = undefined;
  }
}
