/**
 * The projection: events in, read model out. Every write is idempotent on the event id, so it may
 * run in `handleOnce` (redelivery) and be rebuilt from the beginning of the log with the same result:
 * orders, timelines and the inbox depend on the events alone (`time` and log order), never on
 * when the hub happened to see them. Each returns the customer whose stream changed, if any.
 */
import { declareReads, type ReadData, type ReadEvent, type ReadsOf } from '../../contracts/index.ts';
import { appendStream, lockCustomer } from './live.ts';
import { meaningOf, type ordersReads } from './sentences.ts';
import { entryOf, notificationOf, orderOf, unreadCount, type HubDb, type NotificationRow, type OrderRow, type OrderStatus, type TimelineTable } from './store.ts';

const isoOf = (time: string) => new Date(time).toISOString();

/** How far along an order is: a status only moves forward, and `cancelled` is final. */
const RANK: Record<OrderStatus, number> = { placed: 0, paid: 1, confirmed: 2, dispatched: 3, delivered: 4, completed: 5, cancelled: 6 };

/** Adds a timeline entry and tells the stream; false when the entry was already there. */
async function addEntry(trx: HubDb, entry: TimelineTable, order: OrderRow | undefined): Promise<boolean> {
  const inserted = await trx.insertInto('timeline').values(entry).onConflict((oc) => oc.column('event_id').doNothing()).executeTakeFirst();
  if ((inserted.numInsertedOrUpdatedRows ?? 0n) === 0n) return false;
  await appendStream(trx, {
    userId: entry.user_id,
    kind: 'timeline',
    payload: { orderId: entry.order_id, entry: entryOf(entry), ...(order ? { order: orderOf(order) } : {}) },
  });
  return true;
}

/**
 * The orders a batch is about, read ahead in one statement by `prefetchOrders` for the batch's
 * transaction: id → row, or null for none. `projectOrderEvent` (the only writer of `orders`) keeps it
 * up to date with what the transaction writes; a transaction without it reads each order itself.
 */
const prefetched = new WeakMap<HubDb, Map<string, OrderRow | null>>();

/** Reads, in `trx`, every order `events` are about at once (one statement a batch instead of one an event). */
export async function prefetchOrders(trx: HubDb, events: readonly ReadEvent<ReadsOf<typeof ordersReads>>[]): Promise<void> {
  const known = new Map<string, OrderRow | null>();
  for (const event of events) {
    const { orderId } = event.data as { orderId?: string };
    if (orderId) known.set(orderId, null);
  }
  if (known.size > 0) for (const row of await trx.selectFrom('orders').selectAll().where('id', 'in', [...known.keys()]).execute()) known.set(row.id, row);
  prefetched.set(trx, known);
}

async function orderRow(trx: HubDb, id: string): Promise<OrderRow | undefined> {
  const known = prefetched.get(trx)?.get(id);
  if (known !== undefined) return known ?? undefined;
  return trx.selectFrom('orders').selectAll().where('id', '=', id).executeTakeFirst();
}

/** One event about an order: the order row (created by `order.placed`), its status, its timeline entry. */
export async function projectOrderEvent(trx: HubDb, event: ReadEvent<ReadsOf<typeof ordersReads>>): Promise<string | undefined> {
  const type = event.type;
  const meaning = meaningOf(type);
  if (!meaning) return undefined;
  const data = event.data as { orderId?: string; userId?: string };
  if (!data.orderId) return undefined;
  const time = isoOf(event.time);
  let order = await orderRow(trx, data.orderId);
  if (type === 'order.placed' && !order) {
    const placed = event.data as ReadData<ReadsOf<typeof ordersReads>, 'order.placed'>;
    order = {
      id: placed.orderId,
      user_id: placed.userId,
      status: 'placed',
      total_cents: placed.totalCents,
      currency: placed.currency,
      item_count: placed.items.reduce((n, i) => n + i.quantity, 0),
      placed_at: time,
      updated_at: time,
    };
    await trx.insertInto('orders').values(order).execute();
    prefetched.get(trx)?.set(order.id, order);
  } else if (order && meaning.status && RANK[meaning.status] > RANK[order.status]) {
    order = { ...order, status: meaning.status, updated_at: time };
    await trx.updateTable('orders').set({ status: order.status, updated_at: time }).where('id', '=', order.id).execute();
    prefetched.get(trx)?.set(order.id, order);
  }
  // Events before the order's own (a checkout) name their customer; later ones find it on the order.
  const userId = order?.user_id ?? data.userId;
  if (!userId) return undefined;
  const entry: TimelineTable = {
    event_id: event.id,
    order_id: data.orderId,
    user_id: userId,
    type,
    sentence: meaning.sentence(event.data as never),
    time,
    sequence: event.sequence,
  };
  return (await addEntry(trx, entry, order)) ? userId : undefined;
}

/** A `notification.created`: the inbox entry (unread), the count in the same transaction, and an entry on its order's timeline. */
/** What `hub.notifications` reads: the whole notification (the inbox shows it). */
export const notificationsReads = declareReads('hub.notifications', {
  'notification.created': ['notificationId', 'userId', 'category', 'urgency', 'title', 'body', 'link', 'orderId', 'sourceEventId', 'sourceType'],
});

export async function projectNotification(trx: HubDb, event: ReadEvent<ReadsOf<typeof notificationsReads>>): Promise<string | undefined> {
  const n = event.data;
  // Before counting: the count must see every change of this customer committed before it.
  await lockCustomer(trx, n.userId);
  const row: NotificationRow = {
    id: n.notificationId,
    user_id: n.userId,
    category: n.category,
    urgency: n.urgency,
    title: n.title,
    body: n.body,
    link: n.link,
    order_id: n.orderId ?? null,
    source_event_id: n.sourceEventId,
    source_type: n.sourceType,
    created_at: isoOf(event.time),
    sequence: event.sequence,
    read_at: null,
  };
  const inserted = await trx.insertInto('notifications').values(row).onConflict((oc) => oc.column('id').doNothing()).executeTakeFirst();
  if ((inserted.numInsertedOrUpdatedRows ?? 0n) === 0n) return undefined;
  await appendStream(trx, { userId: n.userId, kind: 'notification', payload: { notification: notificationOf(row), unreadCount: await unreadCount(trx, n.userId) } });
  if (n.orderId) {
    const order = await trx.selectFrom('orders').selectAll().where('id', '=', n.orderId).where('user_id', '=', n.userId).executeTakeFirst();
    await addEntry(trx, { event_id: event.id, order_id: n.orderId, user_id: n.userId, type: event.type, sentence: `We told you: ${n.title}.`, time: row.created_at, sequence: event.sequence }, order);
  }
  return n.userId;
}
