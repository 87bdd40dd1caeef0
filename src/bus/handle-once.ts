import type { Kysely, Transaction } from 'kysely';
import type { CloudEvent, EventType } from '../contracts/index.ts';
import { busTables } from './bus-tables.ts';
import { HeldBack } from './errors.ts';
import type { BatchHandler, DeliveredEvent, Handler, HandlerContext } from './types.ts';

/**
 * The inbox's key of an event: its identity, `source` + `id` (CloudEvents; bus/identity.ts), as
 * the JSON array `["<source>","<id>"]`, so two producers' events with one id are two events.
 */
export function inboxKeyOf(event: Pick<CloudEvent, 'source' | 'id'>): string {
  return JSON.stringify([event.source, event.id]);
}

/**
 * Records in the inbox, inside `trx`, that `subscription` handled `event` (by `source` + `id`).
 * Resolves to true the first time and false for a redelivery; the record disappears if the
 * transaction rolls back. A record of the id alone (written before the inbox keyed on source + id)
 * counts as handled too.
 */
export async function markHandled<DB>(trx: Transaction<DB> | Kysely<DB>, subscription: string, event: Pick<CloudEvent, 'source' | 'id'>): Promise<boolean> {
  const tables = busTables(trx);
  const result = await tables
    .insertInto('flamingo_inbox')
    .values({ subscription, event_id: inboxKeyOf(event), handled_at: new Date().toISOString() })
    .onConflict((conflict) => conflict.columns(['subscription', 'event_id']).doNothing())
    .executeTakeFirst();
  if ((result.numInsertedOrUpdatedRows ?? 0n) === 0n) return false;
  const legacy = await tables.selectFrom('flamingo_inbox').select('event_id').where('subscription', '=', subscription).where('event_id', '=', event.id).executeTakeFirst();
  return legacy === undefined;
}

/**
 * Effectively-once effects for a handler that writes to its own database (the inbox pattern):
 * in ONE transaction of `db`, the event's identity (`source` + `id`) is recorded for the subscription and, only if it was
 * not recorded before, `handler` runs with that transaction. A redelivered event changes nothing;
 * a throwing handler rolls back both, so the event is retried. Works on SQLite and PostgreSQL.
 */
export function handleOnce<DB, T extends EventType = EventType>(
  db: Kysely<DB>,
  handler: (event: DeliveredEvent<T>, trx: Transaction<DB>, context: HandlerContext) => Promise<void>,
): Handler<T> {
  return (event, context) =>
    db.transaction().execute(async (trx) => {
      if (await markHandled(trx, context.subscription, event)) await handler(event, trx, context);
    });
}

export interface HandleOnceBatchOptions<DB, T extends EventType> {
  /** Before the events, in the batch's transaction (e.g. lock the rows it will change in one order). Not called when the batch is split. */
  prepare?(trx: Transaction<DB>, events: readonly DeliveredEvent<T>[]): Promise<void>;
  /** The batch's transaction failed and its events are handled one by one (e.g. to log it). */
  onSplit?(error: unknown, events: readonly DeliveredEvent<T>[]): void;
}

/**
 * `handleOnce` for a batch: ONE transaction of `db` records every event of the batch in the inbox
 * and runs `handler` for those not recorded before, in delivery order — one commit (one fsync on
 * SQLite) for the whole batch instead of one per event, and the subscription's acknowledgements
 * follow that commit. If that transaction fails, each event is handled again in a transaction of
 * its own, in order, and gets its own outcome (`BatchResults`): the others are acked, the failing
 * one is retried or dead-lettered as a single handler's would be, and the later events of its
 * `partitionkey` are retried behind it (per-key order). `handler` may return a function to run once
 * its transaction has committed (wake a reader, say).
 */
export function handleOnceBatch<DB, T extends EventType = EventType>(
  db: Kysely<DB>,
  handler: (event: DeliveredEvent<T>, trx: Transaction<DB>, context: HandlerContext) => Promise<void | (() => void)>,
  options: HandleOnceBatchOptions<DB, T> = {},
): BatchHandler<T> {
  return async (events, context) => {
    const run = async (batch: readonly DeliveredEvent<T>[], prepare: boolean) => {
      const after: (() => void)[] = [];
      await db.transaction().execute(async (trx) => {
        if (prepare) await options.prepare?.(trx, batch);
        for (const event of batch) {
          if (!(await markHandled(trx, context.subscription, event))) continue;
          const then = await handler(event, trx, context);
          if (then) after.push(then);
        }
      });
      for (const then of after) then();
    };
    try {
      await run(events, true);
      return undefined;
    } catch (error) {
      if (events.length === 1) throw error;
      // One event that cannot be handled must not hold back the others: each in its own
      // transaction, each with its own result; the later events of a failed event's key wait for it.
      options.onSplit?.(error, events);
      const results = new Array<unknown>(events.length);
      const failed = new Map<string, string>();
      for (let i = 0; i < events.length; i++) {
        const { id, partitionkey: key } = events[i];
        const before = key === undefined ? undefined : failed.get(key);
        if (before !== undefined) {
          results[i] = new HeldBack(before);
          continue;
        }
        try {
          await run([events[i]], false);
        } catch (eventError) {
          results[i] = eventError ?? new Error('handler threw undefined');
          if (key !== undefined) failed.set(key, id);
        }
      }
      return results;
    }
  };
}

/** Deletes inbox records older than `before` (redeliveries after that long are no longer caught); resolves to how many. */
export async function pruneInbox<DB>(db: Kysely<DB>, before: Date): Promise<number> {
  const result = await busTables(db).deleteFrom('flamingo_inbox').where('handled_at', '<', before.toISOString()).executeTakeFirst();
  return Number(result.numDeletedRows);
}
