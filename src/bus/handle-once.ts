import type { Kysely, Transaction } from 'kysely';
import type { EventType } from '../contracts/index.ts';
import { busTables } from './bus-tables.ts';
import type { DeliveredEvent, Handler, HandlerContext } from './types.ts';

/**
 * Records in the inbox, inside `trx`, that `subscription` handled `eventId`. Resolves to true the
 * first time and false for a redelivery; the record disappears if the transaction rolls back.
 */
export async function markHandled<DB>(trx: Transaction<DB> | Kysely<DB>, subscription: string, eventId: string): Promise<boolean> {
  const result = await busTables(trx)
    .insertInto('flamingo_inbox')
    .values({ subscription, event_id: eventId, handled_at: new Date().toISOString() })
    .onConflict((conflict) => conflict.columns(['subscription', 'event_id']).doNothing())
    .executeTakeFirst();
  return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
}

/**
 * Effectively-once effects for a handler that writes to its own database (the inbox pattern):
 * in ONE transaction of `db`, the event id is recorded for the subscription and, only if it was
 * not recorded before, `handler` runs with that transaction. A redelivered event changes nothing;
 * a throwing handler rolls back both, so the event is retried. Works on SQLite and PostgreSQL.
 */
export function handleOnce<DB, T extends EventType = EventType>(
  db: Kysely<DB>,
  handler: (event: DeliveredEvent<T>, trx: Transaction<DB>, context: HandlerContext) => Promise<void>,
): Handler<T> {
  return (event, context) =>
    db.transaction().execute(async (trx) => {
      if (await markHandled(trx, context.subscription, event.id)) await handler(event, trx, context);
    });
}

/** Deletes inbox records older than `before` (redeliveries after that long are no longer caught); resolves to how many. */
export async function pruneInbox<DB>(db: Kysely<DB>, before: Date): Promise<number> {
  const result = await busTables(db).deleteFrom('flamingo_inbox').where('handled_at', '<', before.toISOString()).executeTakeFirst();
  return Number(result.numDeletedRows);
}
