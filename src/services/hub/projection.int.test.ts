import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../../../test/support/service-databases.ts';
import type { DeliveredEvent } from '../../bus/index.ts';
import type { EventData, EventType } from '../../contracts/index.ts';
import type { Dialect } from '../../platform/db.ts';
import { hubTables } from './migrations/001_hub.ts';
import { prefetchOrders, projectNotification, projectOrderEvent } from './projection.ts';
import { timelineOf, unreadCount, type HubDatabase, type HubDb } from './store.ts';

describe.each(DIALECTS)('hub projection on %s', (dialect: Dialect) => {
  let test: TestDatabase<HubDatabase>;
  let db: HubDb;
  let sequence = 0;
  beforeAll(async () => {
    test = await openTestDatabase<HubDatabase>(dialect, 'hub', { '001_hub': hubTables });
    db = test.database.db;
  });
  afterAll(() => test.cleanup());

  /** A stored event as the bus delivers it; `time` defaults to a second after the previous one. */
  const delivered = <T extends EventType>(type: T, data: EventData<T>, time?: string) => {
    sequence += 1;
    return { specversion: '1.0', id: uuidv7(), source: '/test', type, time: time ?? new Date(Date.UTC(2026, 0, 1, 0, 0, sequence)).toISOString(), datacontenttype: 'application/json', data, sequence } as unknown as DeliveredEvent;
  };
  const project = (event: DeliveredEvent) => db.transaction().execute((trx) => projectOrderEvent(trx, event as Parameters<typeof projectOrderEvent>[1]));
  const items = [{ productId: uuidv7(), quantity: 3, unitPriceCents: 500 }];

  it('orders a timeline by time, then log order, whatever order the events are handled in; the same event twice is one entry', async () => {
    const orderId = uuidv7();
    const userId = uuidv7();
    const placed = delivered('order.placed', { orderId, userId, items, totalCents: 1500, currency: 'EUR', paymentToken: 'tok_secret' });
    const paid = delivered('payment.succeeded', { paymentId: uuidv7(), orderId, userId, amountCents: 1500, currency: 'EUR' });
    // Same time as the payment, later in the log.
    const confirmed = delivered('order.confirmed', { orderId, userId, paymentId: uuidv7(), items, totalCents: 1500, currency: 'EUR' }, paid.time);
    // A checkout names its customer: handled before its order exists, it still lands on the order.
    const checkout = delivered('cart.checked_out', { cartId: uuidv7(), orderId, userId, items, totalCents: 1500, currency: 'EUR' } as EventData<'cart.checked_out'>, '2025-12-31T23:59:59.000Z');
    expect(await project(checkout)).toBe(userId);
    expect(await project(placed)).toBe(userId);
    expect(await project(confirmed)).toBe(userId);
    expect(await project(paid)).toBe(userId);
    expect(await project(paid)).toBeUndefined();
    const timeline = await timelineOf(db, orderId);
    expect(timeline.map((e) => e.type)).toEqual(['cart.checked_out', 'order.placed', 'payment.succeeded', 'order.confirmed']);
    expect(JSON.stringify(timeline)).not.toContain('tok_secret');
    // A status only moves forward: the payment handled after the confirmation leaves it confirmed.
    const order = await db.selectFrom('orders').selectAll().where('id', '=', orderId).executeTakeFirstOrThrow();
    expect(order).toMatchObject({ user_id: userId, status: 'confirmed', currency: 'EUR', item_count: 3 });
    expect(Number(order.total_cents)).toBe(1500);
  });

  it('projects a batch with its orders read ahead as it projects the events one by one', async () => {
    type OrderEvent = Parameters<typeof projectOrderEvent>[1];
    const batch = async (events: DeliveredEvent[]) =>
      db.transaction().execute(async (trx) => {
        await prefetchOrders(trx, events as unknown as OrderEvent[]);
        const touched: (string | undefined)[] = [];
        for (const event of events) touched.push(await projectOrderEvent(trx, event as unknown as OrderEvent));
        return touched;
      });
    const orderId = uuidv7();
    const userId = uuidv7();
    const placed = delivered('order.placed', { orderId, userId, items, totalCents: 1500, currency: 'EUR' });
    const paid = delivered('payment.succeeded', { paymentId: uuidv7(), orderId, userId, amountCents: 1500, currency: 'EUR' });
    const confirmed = delivered('order.confirmed', { orderId, userId, paymentId: uuidv7(), items, totalCents: 1500, currency: 'EUR' });
    const other = uuidv7();
    // The order is created, then moves on, within the batch; an order placed before the batch is read ahead.
    await project(delivered('order.placed', { orderId: other, userId, items, totalCents: 500, currency: 'EUR' }));
    const otherPaid = delivered('payment.succeeded', { paymentId: uuidv7(), orderId: other, userId, amountCents: 500, currency: 'EUR' });
    expect(await batch([placed, otherPaid, paid, paid, confirmed])).toEqual([userId, userId, userId, undefined, userId]);
    expect((await timelineOf(db, orderId)).map((e) => e.type)).toEqual(['order.placed', 'payment.succeeded', 'order.confirmed']);
    const statuses = await db.selectFrom('orders').select(['id', 'status']).where('id', 'in', [orderId, other]).execute();
    expect(Object.fromEntries(statuses.map((o) => [o.id, o.status]))).toEqual({ [orderId]: 'confirmed', [other]: 'paid' });
    // A second batch reads the order as the first left it: a late payment does not move it back.
    expect(await batch([delivered('payment.succeeded', { paymentId: uuidv7(), orderId, userId, amountCents: 1500, currency: 'EUR' })])).toEqual([userId]);
    expect((await db.selectFrom('orders').select('status').where('id', '=', orderId).executeTakeFirstOrThrow()).status).toBe('confirmed');
  });

  it('keeps a cancelled order cancelled, and ignores events of orders it never saw that name no customer', async () => {
    const orderId = uuidv7();
    const userId = uuidv7();
    await project(delivered('order.placed', { orderId, userId, items, totalCents: 1500, currency: 'EUR' }));
    await project(delivered('order.cancelled', { orderId, userId, reason: 'payment_failed', stockReserved: true }));
    await project(delivered('payment.refunded', { refundId: uuidv7(), paymentId: uuidv7(), orderId, amountCents: 1500, currency: 'EUR', reason: 'order cancelled' }));
    expect((await db.selectFrom('orders').select('status').where('id', '=', orderId).executeTakeFirstOrThrow()).status).toBe('cancelled');
    expect((await timelineOf(db, orderId)).at(-1)).toMatchObject({ type: 'payment.refunded', sentence: '€15.00 refunded (order cancelled).' });
    expect(await project(delivered('stock.reserved', { orderId: uuidv7(), items: [{ productId: uuidv7(), quantity: 1 }] }))).toBeUndefined();
  });

  it('counts unread notifications in the transaction that adds one, once per notification id', async () => {
    const userId = uuidv7();
    const orderId = uuidv7();
    const notification = (notificationId: string) =>
      delivered('notification.created', {
        notificationId,
        userId,
        category: 'payment',
        urgency: 'immediate',
        title: 'Payment failed',
        body: 'Declined.',
        link: `/account#/orders/${orderId}`,
        orderId,
        sourceEventId: uuidv7(),
        sourceType: 'payment.failed',
      }) as DeliveredEvent<'notification.created'>;
    const id = uuidv7();
    // Before the hub has seen the order: the inbox has it at once, the timeline keeps it for the order.
    expect(await db.transaction().execute((trx) => projectNotification(trx, notification(id)))).toBe(userId);
    expect(await db.transaction().execute((trx) => projectNotification(trx, notification(id)))).toBeUndefined();
    expect(await db.transaction().execute((trx) => projectNotification(trx, notification(uuidv7())))).toBe(userId);
    expect(await unreadCount(db, userId)).toBe(2);
    const streamed = await db.selectFrom('stream').select(['kind', 'payload']).where('user_id', '=', userId).orderBy('position').execute();
    expect(streamed.filter((s) => s.kind === 'notification').map((s) => JSON.parse(s.payload).unreadCount)).toEqual([1, 2]);
    expect((await timelineOf(db, orderId)).map((e) => e.sentence)).toEqual(['We told you: Payment failed.', 'We told you: Payment failed.']);
  });
});
