import type { Kysely, Transaction } from 'kysely';
import type { CloudEvent, EventType } from '../contracts/index.ts';
import { busTables } from './bus-tables.ts';
import type { DeliveredEvent, Handler, HandlerContext } from './types.ts';

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

/** Deletes inbox records older than `before` (redeliveries after that long are no longer caught); resolves to how many. */
export async function pruneInbox<DB>(db: Kysely<DB>, before: Date): Promise<number> {
  const result = await busTables(db).deleteFrom('flamingo_inbox').where('handled_at', '<', before.toISOString()).executeTakeFirst();
  return Number(result.numDeletedRows);
}
