/**
 * The live side of the read model: every change a customer's page must see is appended to
 * `stream` in the transaction that makes it (so nothing is announced that did not happen, and
 * nothing that happened goes unannounced), numbered by `position`. Once a transaction commits, the
 * customers it touched are signalled in-process; their open streams read what is new from the table.
 */
import { EventEmitter } from 'node:events';
import { PostgresAdapter, sql } from 'kysely';
import type { HubDb, StreamKind } from './store.ts';

/**
 * Serialises, until `trx` ends, the transactions that change one customer's stream or unread count.
 * On PostgreSQL two transactions may commit in the other order than they took their `position`s,
 * and a stream that had read the later one would skip the earlier; under this lock one customer's
 * positions commit in order, and each count sees the changes before it. (SQLite runs one write
 * transaction at a time already.)
 */
export async function lockCustomer(trx: HubDb, userId: string): Promise<void> {
  if (trx.getExecutor().adapter instanceof PostgresAdapter) await sql`SELECT pg_advisory_xact_lock(hashtext(${`hub:${userId}`}))`.execute(trx);
}

export interface StreamChange {
  readonly userId: string;
  readonly kind: StreamKind;
  readonly payload: unknown;
}

/** Appends one change to the customer's stream, in `trx` (taking the customer's lock, `lockCustomer`). */
export async function appendStream(trx: HubDb, change: StreamChange): Promise<void> {
  await lockCustomer(trx, change.userId);
  await trx
    .insertInto('stream')
    .values({ user_id: change.userId, kind: change.kind, payload: JSON.stringify(change.payload), created_at: new Date().toISOString() })
    .execute();
}

export interface Signals {
  /** Tells the streams of these customers that something is new (call after the commit). */
  notify(userIds: Iterable<string>): void;
  /** Calls `listener` whenever `userId` has news; returns the unsubscribe. */
  listen(userId: string, listener: () => void): () => void;
}

export function createSignals(): Signals {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  return {
    notify(userIds) {
      for (const userId of new Set(userIds)) emitter.emit(userId);
    },
    listen(userId, listener) {
      emitter.on(userId, listener);
      return () => emitter.off(userId, listener);
    },
  };
}
