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

/** The durable state of subscriptions: position and done ranges, retry schedule, dead letters. */
export class StateStore {
  private readonly s;

  constructor(db: Database.Database) {
    this.s = {
      get: db.prepare<[string], StoredSubscription>('SELECT name, types, position, done FROM subscriptions WHERE name = ?'),
      all: db.prepare<[], StoredSubscription>('SELECT name, types, position, done FROM subscriptions ORDER BY name'),
      create: db.prepare('INSERT INTO subscriptions (name, types, position, done, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?)'),
      setTypes: db.prepare('UPDATE subscriptions SET types = ?, updated_ms = ? WHERE name = ?'),
      setPosition: db.prepare('UPDATE subscriptions SET position = ?, done = ?, updated_ms = ? WHERE name = ?'),
      retries: db.prepare<[string], StoredRetry>(
        'SELECT sequence, attempts, next_attempt_ms, last_error, first_failed_ms, last_failed_ms, redeliver FROM retries WHERE subscription = ? ORDER BY sequence',
      ),
      upsertRetry: db.prepare(
        `INSERT INTO retries (subscription, sequence, attempts, next_attempt_ms, last_error, first_failed_ms, last_failed_ms, redeliver)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (subscription, sequence) DO UPDATE SET attempts = excluded.attempts, next_attempt_ms = excluded.next_attempt_ms,
           last_error = excluded.last_error, first_failed_ms = excluded.first_failed_ms, last_failed_ms = excluded.last_failed_ms, redeliver = excluded.redeliver`,
      ),
      deleteRetry: db.prepare('DELETE FROM retries WHERE subscription = ? AND sequence = ?'),
      deleteRetries: db.prepare('DELETE FROM retries WHERE subscription = ? AND redeliver = 0'),
      countRetrying: db.prepare<[string], number>('SELECT count(*) FROM retries WHERE subscription = ? AND attempts > 0').pluck(),
      putDead: db.prepare(
        `INSERT OR REPLACE INTO dead_letters (subscription, sequence, event_id, error, attempts, first_failed_ms, last_failed_ms) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      listDead: db.prepare<[string, number, number], StoredDeadLetter>(
        `SELECT d.subscription, d.sequence, d.error, d.attempts, d.first_failed_ms, d.last_failed_ms, e.recorded_ms, e.envelope
         FROM dead_letters d JOIN events e ON e.sequence = d.sequence
         WHERE d.subscription = ? AND d.sequence > ? ORDER BY d.sequence LIMIT ?`,
      ),
      deadOf: db.prepare<[string, string], { sequence: number }>('SELECT sequence FROM dead_letters WHERE subscription = ? AND event_id = ?'),
      allDead: db.prepare<[string], { sequence: number }>('SELECT sequence FROM dead_letters WHERE subscription = ? ORDER BY sequence'),
      deleteDead: db.prepare('DELETE FROM dead_letters WHERE subscription = ? AND sequence = ?'),
      deleteAllDead: db.prepare('DELETE FROM dead_letters WHERE subscription = ?'),
      countDead: db.prepare<[string], number>('SELECT count(*) FROM dead_letters WHERE subscription = ?').pluck(),
    };
    this.transaction = db.transaction((fn: () => void) => fn());
  }

  /** Runs `fn` in one transaction (nested: a savepoint). */
  readonly transaction: (fn: () => void) => void;

  get(name: string): SubscriptionRow | undefined {
    const stored = this.s.get.get(name);
    return stored ? toRow(stored) : undefined;
  }

  all(): SubscriptionRow[] {
    return this.s.all.all().map(toRow);
  }

  create(name: string, types: readonly string[], position: number): SubscriptionRow {
    const now = Date.now();
    this.s.create.run(name, JSON.stringify(types), position, '[]', now, now);
    return { name, types, position, done: [] };
  }

  setTypes(name: string, types: readonly string[]): void {
    this.s.setTypes.run(JSON.stringify(types), Date.now(), name);
  }

  setPosition(name: string, position: number, done: Ranges): void {
    this.s.setPosition.run(position, JSON.stringify(done), Date.now(), name);
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

  putRetry(name: string, r: RetryRow): void {
    this.s.upsertRetry.run(name, r.sequence, r.attempts, r.nextAttemptMs, r.lastError, r.firstFailedMs, r.lastFailedMs, r.redeliver ? 1 : 0);
  }

  deleteRetry(name: string, sequence: number): void {
    this.s.deleteRetry.run(name, sequence);
  }

  /** Drops the retry schedule of a subscription (dead letters sent back for redelivery stay). */
  deleteRetries(name: string): void {
    this.s.deleteRetries.run(name);
  }

  countRetrying(name: string): number {
    return this.s.countRetrying.get(name) as number;
  }

  putDeadLetter(name: string, d: DeadLetterRow): void {
    this.s.putDead.run(name, d.sequence, d.eventId, d.error, d.attempts, d.firstFailedMs, d.lastFailedMs);
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

  deleteDeadLetter(name: string, sequence: number): void {
    this.s.deleteDead.run(name, sequence);
  }

  countDeadLetters(name: string): number {
    return this.s.countDead.get(name) as number;
  }
}
