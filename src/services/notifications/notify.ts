/**
 * Turning one event into what it means for notifications, inside the handler's transaction:
 * learning who customers are (e-mail, orders they own), then, for a rule's event, one notification
 * per (event, customer) — its id derived from both — announced as `notification.created`, with an
 * email queued in the outbox when the customer's preferences want one.
 */
import { v5 as uuidv5 } from 'uuid';
import { retryAfter, type PublishInput } from '../../bus/index.ts';
import type { ReadEvent } from '../../contracts/index.ts';
import { emailWanted } from './preferences.ts';
import { ruleFor, urgencyOf, type NotificationsReads } from './rules.ts';

/** An event as notifications reads it (`notificationsReads`). */
export type NotifiedEvent = ReadEvent<NotificationsReads>;
import type { NotificationsDb, NotificationsTable, OrderOwnersTable } from './store.ts';

export const NOTIFICATIONS_SOURCE = '/services/notifications';

/** Namespace of notification ids (UUIDv5 of `<source event id>/<customer>`). */
const NOTIFICATION_NAMESPACE = '5b0d3f8e-2c1a-4e7b-9f6d-8a4c2e1b7d90';

export function notificationIdOf(sourceEventId: string, userId: string): string {
  return uuidv5(`${sourceEventId}/${userId}`, NOTIFICATION_NAMESPACE);
}

/** Where in the hub a notification points: its order, else the inbox. */
export const linkOf = (orderId: string | undefined) => (orderId ? `/account#/orders/${encodeURIComponent(orderId)}` : '/account#/notifications');

/**
 * An event older than this makes an inbox entry but no email: a rebuilt notifications database
 * read from the beginning of the log must not mail customers their history again, and day-old
 * news is not worth an email.
 */
export const EMAIL_MAX_AGE_MS = 24 * 3600_000;

export interface Notified {
  readonly events: PublishInput<'notification.created'>[];
  /** An email was queued: the outbox should look. */
  readonly email: boolean;
}

const NOTHING: Notified = { events: [], email: false };

/**
 * Order owners `notify` learnt in a transaction with `deferOwners` and has not written yet: written
 * together by `writeLearnt`, before the transaction reads one (`recipientOf`) and at its end.
 */
const learnt = new WeakMap<NotificationsDb, OrderOwnersTable[]>();

/** Writes, in one statement, the order owners learnt in `trx` and not written yet (call before `trx` commits). */
export async function writeLearnt(trx: NotificationsDb): Promise<void> {
  const owners = learnt.get(trx);
  if (!owners) return;
  learnt.delete(trx);
  await trx.insertInto('order_owners').values(owners).onConflict((oc) => oc.column('order_id').doNothing()).execute();
}

/** Keeps what later notifications need: a customer's address and name, an order's owner (left to `writeLearnt` with `deferOwners`). */
async function learn(trx: NotificationsDb, event: NotifiedEvent, deferOwners: boolean): Promise<void> {
  const now = new Date().toISOString();
  switch (event.type) {
    case 'user.registered':
    case 'user.updated': {
      const { userId, email, name } = event.data;
      await trx
        .insertInto('recipients')
        .values({ user_id: userId, email, name, updated_at: now })
        .onConflict((oc) => oc.column('user_id').doUpdateSet({ email, name, updated_at: now }))
        .execute();
      return;
    }
    case 'order.placed': {
      const { orderId, userId } = event.data;
      const owner = { order_id: orderId, user_id: userId, created_at: now };
      if (!deferOwners) {
        await trx.insertInto('order_owners').values(owner).onConflict((oc) => oc.column('order_id').doNothing()).execute();
        return;
      }
      const owners = learnt.get(trx) ?? [];
      owners.push(owner);
      learnt.set(trx, owners);
      return;
    }
  }
}

/** The customer an event is for: its `userId`, else the owner of its `orderId`. */
async function recipientOf(trx: NotificationsDb, data: { userId?: string; orderId?: string }): Promise<string | undefined> {
  if (data.userId) return data.userId;
  if (!data.orderId) return undefined;
  await writeLearnt(trx);
  const owner = await trx.selectFrom('order_owners').select('user_id').where('order_id', '=', data.orderId).executeTakeFirst();
  return owner?.user_id;
}

/**
 * The notification `event` makes, if any, in `trx`. With `deferOwners` the order owners it learns wait
 * for `writeLearnt` (one statement for a batch's orders), which the caller runs before the commit.
 */
export async function notify(trx: NotificationsDb, event: NotifiedEvent, options: { readonly deferOwners?: boolean } = {}): Promise<Notified> {
  await learn(trx, event, options.deferOwners ?? false);
  const type = event.type;
  const rule = ruleFor(type);
  if (!rule) return NOTHING;
  const data = event.data as { userId?: string; orderId?: string };
  const userId = await recipientOf(trx, data);
  // The order's `order.placed` runs in the background lane and may not have been seen yet.
  if (!userId) throw retryAfter(500);
  const id = notificationIdOf(event.id, userId);
  const urgency = urgencyOf(type);
  const row: NotificationsTable = {
    id,
    user_id: userId,
    category: rule.category,
    urgency,
    title: rule.title(event.data as never),
    body: rule.body(event.data as never),
    link: linkOf(data.orderId),
    order_id: data.orderId ?? null,
    source_event_id: event.id,
    source_type: type,
    created_at: new Date().toISOString(),
  };
  const inserted = await trx.insertInto('notifications').values(row).onConflict((oc) => oc.column('id').doNothing()).executeTakeFirst();
  if ((inserted.numInsertedOrUpdatedRows ?? 0n) === 0n) return NOTHING;
  const fresh = Date.now() - new Date(event.time).getTime() < EMAIL_MAX_AGE_MS;
  const email = fresh && (await emailWanted(trx, userId, rule.category));
  if (email) {
    await trx
      .insertInto('email_outbox')
      .values({
        notification_id: id,
        priority: urgency === 'immediate' ? 0 : 1,
        status: 'pending',
        attempts: 0,
        next_attempt_at: row.created_at,
        last_error: null,
        sent_at: null,
        created_at: row.created_at,
      })
      .execute();
  }
  const created: PublishInput<'notification.created'> = {
    type: 'notification.created',
    source: NOTIFICATIONS_SOURCE,
    data: {
      notificationId: id,
      userId,
      category: row.category,
      urgency,
      title: row.title,
      body: row.body,
      link: row.link,
      ...(data.orderId ? { orderId: data.orderId } : {}),
      sourceEventId: event.id,
      sourceType: type,
    },
  };
  return { events: [created], email };
}
