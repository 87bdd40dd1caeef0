import { sql, type Kysely, type Transaction } from 'kysely';
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
  const [first] = await markAllHandled(trx, subscription, [event]);
  return first;
}

/**
 * Most events one inbox statement records: 3 parameters each stays far below SQLite's 32 766
 * variables and PostgreSQL's 65 535.
 */
const EVENTS_PER_STATEMENT = 1_000;

/**
 * `markHandled` for several events in one statement per `EVENTS_PER_STATEMENT` (one round trip to
 * the database instead of two per event): resolves to one boolean per event, in order, true where
 * the event is handled for the first time. An event listed twice is first only where it comes first.
 */
export async function markAllHandled<DB>(trx: Transaction<DB> | Kysely<DB>, subscription: string, events: readonly Pick<CloudEvent, 'source' | 'id'>[]): Promise<boolean[]> {
  const handledAt = new Date().toISOString();
  const keys = events.map(inboxKeyOf);
  const inserted = new Set<string>();
  for (let start = 0; start < events.length; start += EVENTS_PER_STATEMENT) {
    const rows = events.slice(start, start + EVENTS_PER_STATEMENT).map((event, i) => sql`(${keys[start + i]}, ${event.id})`);
    // VALUES names its columns column1, column2 on SQLite and PostgreSQL alike: (key, the id alone).
    // A row is inserted unless its key is there (ON CONFLICT) or the id alone is (a legacy record);
    // RETURNING lists the keys inserted. (SQLite needs the WHERE before an upsert's ON CONFLICT.)
    const { rows: returned } = await sql<{ event_id: string }>`
      insert into flamingo_inbox (subscription, event_id, handled_at)
      select ${subscription}, v.column1, ${handledAt} from (values ${sql.join(rows)}) as v
      where not exists (select 1 from flamingo_inbox as legacy where legacy.subscription = ${subscription} and legacy.event_id = v.column2)
      on conflict (subscription, event_id) do nothing
      returning event_id`.execute(trx);
    for (const { event_id } of returned) inserted.add(event_id);
  }
  // The first of two equal keys takes the insert.
  return keys.map((key) => inserted.delete(key));
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
  /**
   * After the handler, in the same transaction, with the events it ran for (those not handled before), in
   * order; not called when there are none. For effects written once for many events (one multi-row
   * insert instead of one per event). Called for each transaction: the batch's, or each event's when split.
   */
  finish?(trx: Transaction<DB>, handled: readonly DeliveredEvent<T>[]): Promise<void>;
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
        const first = await markAllHandled(trx, context.subscription, batch);
        const handled = batch.filter((_, i) => first[i]);
        for (const event of handled) {
          const then = await handler(event, trx, context);
          if (then) after.push(then);
        }
        if (handled.length > 0) await options.finish?.(trx, handled);
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
