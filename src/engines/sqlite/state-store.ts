import type Database from 'better-sqlite3';
import type { DeadLetter } from '../../bus/kit/index.ts';
import { toEvent, type EventRow } from './event-reader.ts';
import { parseRanges, type Ranges } from './ranges.ts';

/** A subscription's durable row. */
export interface SubscriptionRow {
  readonly name: string;
  readonly types: readonly string[];
  /** Every matching event up to here is done. */
  readonly position: number;
  /** Events done above `position`. */
  readonly done: Ranges;
}

/** Retry state of one event (or a dead letter sent back for redelivery, `redeliver`). */
export interface RetryRow {
  readonly sequence: number;
  readonly attempts: number;
  readonly nextAttemptMs: number;
  readonly lastError: string | null;
  readonly firstFailedMs: number | null;
  readonly lastFailedMs: number | null;
  readonly redeliver: boolean;
}

export interface DeadLetterRow {
  readonly sequence: number;
  readonly eventId: string;
  readonly error: string;
  readonly attempts: number;
  readonly firstFailedMs: number;
  readonly lastFailedMs: number;
}

/**
 * Changes to one subscription's rows, written all-or-nothing by the log's worker (the process's one
 * writer, log-worker.ts), in this order: create, types, dropRetries, position, deleteRetries,
 * putRetries, deleteDeadLetters, putDeadLetters.
 */
export interface StateWrite {
  readonly subscription: string;
  /** Creates the row (fails when it exists), with no event done above `position`. */
  readonly create?: { readonly types: readonly string[]; readonly position: number };
  readonly types?: readonly string[];
  /** Deletes the retry schedule (dead letters sent back for redelivery stay). */
  readonly dropRetries?: boolean;
  /** Everything up to `position` is done, and `done` above it. */
  readonly position?: { readonly position: number; readonly done: Ranges };
  readonly deleteRetries?: readonly number[];
  readonly putRetries?: readonly RetryRow[];
  readonly deleteDeadLetters?: readonly number[];
  readonly putDeadLetters?: readonly DeadLetterRow[];
}

interface StoredSubscription {
  name: string;
  types: string;
  position: number;
  done: string;
}

interface StoredRetry {
  sequence: number;
  attempts: number;
  next_attempt_ms: number;
  last_error: string | null;
  first_failed_ms: number | null;
  last_failed_ms: number | null;
  redeliver: number;
}

interface StoredDeadLetter extends EventRow {
  subscription: string;
  error: string;
  attempts: number;
  first_failed_ms: number;
  last_failed_ms: number;
}

const toRow = (stored: StoredSubscription): SubscriptionRow => ({
  name: stored.name,
  types: JSON.parse(stored.types) as string[],
  position: stored.position,
  done: parseRanges(stored.done),
});

/**
 * The durable state of subscriptions as the main thread reads it: position and done ranges, retry
 * schedule, dead letters. It is written only by the log's worker (`StateWrite`), in the writer's
 * transactions, so a read here sees what has committed.
 */
export class StateStore {
  private readonly s;

  constructor(db: Database.Database) {
    this.s = {
      get: db.prepare<[string], StoredSubscription>('SELECT name, types, position, done FROM subscriptions WHERE name = ?'),
      all: db.prepare<[], StoredSubscription>('SELECT name, types, position, done FROM subscriptions ORDER BY name'),
      retries: db.prepare<[string], StoredRetry>(
        'SELECT sequence, attempts, next_attempt_ms, last_error, first_failed_ms, last_failed_ms, redeliver FROM retries WHERE subscription = ? ORDER BY sequence',
      ),
      countRetrying: db.prepare<[string], number>('SELECT count(*) FROM retries WHERE subscription = ? AND attempts > 0').pluck(),
      listDead: db.prepare<[string, number, number], StoredDeadLetter>(
        `SELECT d.subscription, d.sequence, d.error, d.attempts, d.first_failed_ms, d.last_failed_ms, e.recorded_ms, e.envelope
         FROM dead_letters d JOIN events e ON e.sequence = d.sequence
         WHERE d.subscription = ? AND d.sequence > ? ORDER BY d.sequence LIMIT ?`,
      ),
      deadOf: db.prepare<[string, string], { sequence: number }>('SELECT sequence FROM dead_letters WHERE subscription = ? AND event_id = ?'),
      allDead: db.prepare<[string], { sequence: number }>('SELECT sequence FROM dead_letters WHERE subscription = ? ORDER BY sequence'),
      countDead: db.prepare<[string], number>('SELECT count(*) FROM dead_letters WHERE subscription = ?').pluck(),
    };
  }

  get(name: string): SubscriptionRow | undefined {
    const stored = this.s.get.get(name);
    return stored ? toRow(stored) : undefined;
  }

  all(): SubscriptionRow[] {
    return this.s.all.all().map(toRow);
  }

  retries(name: string): RetryRow[] {
    return this.s.retries.all(name).map((r) => ({
      sequence: r.sequence,
      attempts: r.attempts,
      nextAttemptMs: r.next_attempt_ms,
      lastError: r.last_error,
      firstFailedMs: r.first_failed_ms,
      lastFailedMs: r.last_failed_ms,
      redeliver: r.redeliver === 1,
    }));
  }

  countRetrying(name: string): number {
    return this.s.countRetrying.get(name) as number;
  }

  deadLetters(name: string, afterSequence: number, limit: number): DeadLetter[] {
    return this.s.listDead.all(name, afterSequence, limit).map((d) => ({
      subscription: d.subscription,
      event: toEvent(d),
      error: d.error,
      attempts: d.attempts,
      firstFailedAt: new Date(d.first_failed_ms).toISOString(),
      lastFailedAt: new Date(d.last_failed_ms).toISOString(),
    }));
  }

  /** Sequences of the dead letters of one event id, or of all. */
  deadSequences(name: string, eventId?: string): number[] {
    const rows = eventId === undefined ? this.s.allDead.all(name) : this.s.deadOf.all(name, eventId);
    return rows.map((r) => r.sequence);
  }

  countDeadLetters(name: string): number {
    return this.s.countDead.get(name) as number;
  }
}
