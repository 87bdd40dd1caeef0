/**
 * The order saga end to end through the HTTP API, with the services' databases on SQLite and on
 * PostgreSQL. The catalog's and fulfillment's answers (`stock.*`, `shipment.*`) are published on
 * the bus here as those contexts would; payments is the real service with the sandbox provider.
 */
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from './support/service-databases.ts';
import { eventually, orderReaches, productCreated, startShop, type Shop } from './support/shop.ts';
import { SCALE_OUT_STACKS, STACKS, type StackRun } from './support/stacks.ts';

async function customer(shop: Shop, email: string): Promise<string> {
  const created = await shop.request('POST', '/v1/users', { key: null, body: { email, name: 'Customer', password: 'a good password' } });
  expect(created.status).toBe(201);
  return created.body.id;
}

/** Places an order (with the admin key) once the orders replica knows the customer and the product. */
async function placeOrder(shop: Shop, userId: string, productId: string, paymentToken: string, quantity = 2): Promise<string> {
  const placed = await eventually(async () => {
    const answer = await shop.request('POST', '/v1/orders', { body: { userId, items: [{ productId, quantity }], paymentToken } });
    return answer.status === 422 ? undefined : answer;
  }, 'the orders replica to know the customer and the product');
  expect(placed.status).toBe(201);
  expect(placed.body.status).toBe('pending');
  // The catalog reacts to order.placed once it is on the bus; so do the events published here.
  await eventsOf(shop, placed.body.id, ['order.placed']);
  return placed.body.id;
}

/** The order's events once those of `types` have all reached the log (the outboxes relay asynchronously). */
async function eventsOf(shop: Shop, orderId: string, types: readonly string[]) {
  return eventually(async () => {
    const events = await shop.eventsAbout(`order/${orderId}`);
    return types.every((type) => events.some((e) => e.type === type)) ? events : undefined;
  }, `${types.join(', ')} of order ${orderId}`);
}

const stockReserved = (orderId: string, productId: string, quantity = 2) => ({
  type: 'stock.reserved' as const,
  source: '/services/catalog',
  data: { orderId, items: [{ productId, quantity }] },
});

// The embedded bus with the services' databases on SQLite or on PostgreSQL schemas; and NATS with
// PostgreSQL, where the run's own database holds the services' usual schemas.
const SETUPS = [
  ...DIALECTS.map((dialect) => ({ name: `service databases on ${dialect}`, dialect, stack: undefined })),
  ...SCALE_OUT_STACKS.map((stack) => ({ name: stack.name, dialect: 'sqlite' as const, stack })),
];

describe.each(SETUPS)('order saga over HTTP ($name)', ({ dialect, stack }) => {
  let run: StackRun | undefined;
  let shop: Shop;
  let userId: string;
  const productId = uuidv7();

  beforeAll(async () => {
    run = await stack?.provision();
    shop = await startShop({ dialect, env: { ...run?.env, FLAMINGO_SANDBOX_SLOW_MS: '500' } });
    await shop.publish(productCreated(productId, 1250));
    userId = await customer(shop, `saga-${dialect}@example.com`);
  });
  afterAll(async () => {
    await shop?.stop();
    await run?.cleanup();
  });

  it('happy path: placed → stock reserved → paid → confirmed → shipped → delivered → completed', async () => {
    const orderId = await placeOrder(shop, userId, productId, 'tok_ok');
    await shop.publish(stockReserved(orderId, productId));
    const confirmed = await orderReaches(shop, orderId, 'confirmed');
    expect(confirmed.body.paymentId).toEqual(expect.any(String));

    // Fulfillment reacts to order.confirmed on the bus (the outbox relays it after the commit).
    await eventsOf(shop, orderId, ['order.confirmed']);
    const shipmentId = uuidv7();
    const shipment = { shipmentId, orderId, userId };
    await shop.publish({ type: 'shipment.created', source: '/services/fulfillment', data: { ...shipment, items: [{ productId, quantity: 2 }] } });
    await shop.publish({ type: 'shipment.dispatched', source: '/services/fulfillment', data: { ...shipment, carrier: 'PostNL', trackingNumber: 'TRACK-1' } });
    await orderReaches(shop, orderId, 'shipped');
    await shop.publish({ type: 'shipment.delivered', source: '/services/fulfillment', data: shipment });
    const completed = await orderReaches(shop, orderId, 'completed');

    const history = completed.body.history as { status: string; eventType: string; eventId: string; at: string }[];
    expect(history.map((h) => [h.status, h.eventType])).toEqual([
      ['pending', 'order.placed'],
      ['stock_reserved', 'stock.reserved'],
      ['paid', 'payment.succeeded'],
      ['confirmed', 'order.confirmed'],
      ['shipped', 'shipment.dispatched'],
      ['delivered', 'shipment.delivered'],
      ['completed', 'order.completed'],
    ]);
    // Every transition names the very event that caused it.
    const events = await eventsOf(shop, orderId, ['order.completed']);
    const byId = new Map(events.map((e) => [e.id, e]));
    for (const step of history) expect(byId.get(step.eventId)?.type).toBe(step.eventType);
    expect(events.map((e) => e.type)).toEqual([
      'order.placed',
      'stock.reserved',
      'payment.succeeded',
      'order.confirmed',
      'shipment.created',
      'shipment.dispatched',
      'shipment.delivered',
      'order.completed',
    ]);
    const paid = events.find((e) => e.type === 'payment.succeeded')!;
    expect(paid.data).toMatchObject({ orderId, amountCents: 2500, currency: 'EUR', paymentId: completed.body.paymentId });
    expect(events.find((e) => e.type === 'order.confirmed')!.causationid).toBe(paid.id);

    const payment = await shop.request('GET', `/v1/payments/${orderId}`);
    expect(payment.body).toMatchObject({ status: 'succeeded', amountCents: 2500, idempotencyKey: `order:${orderId}` });
    // The token is a secret for payments only: the order API never shows it.
    expect(completed.text).not.toContain('tok_ok');
  });

  it('compensation: stock.reservation_failed cancels the order (out_of_stock) and nothing is charged', async () => {
    const orderId = await placeOrder(shop, userId, productId, 'tok_ok');
    await shop.publish({
      type: 'stock.reservation_failed',
      source: '/services/catalog',
      data: { orderId, productId, requested: 2, available: 1, reason: 'insufficient_stock' },
    });
    const cancelled = await orderReaches(shop, orderId, 'cancelled');
    expect(cancelled.body.cancellation.reason).toBe('out_of_stock');
    const event = (await eventsOf(shop, orderId, ['order.cancelled'])).find((e) => e.type === 'order.cancelled')!;
    expect(event.data).toMatchObject({ reason: 'out_of_stock', stockReserved: false });
    expect((await shop.request('GET', `/v1/payments/${orderId}`)).status).toBe(404);
  });

  it('compensation: a declined payment cancels the order (payment_failed) so the catalog releases the stock', async () => {
    const orderId = await placeOrder(shop, userId, productId, 'tok_declined');
    await shop.publish(stockReserved(orderId, productId));
    const cancelled = await orderReaches(shop, orderId, 'cancelled');
    expect(cancelled.body.cancellation).toEqual({ reason: 'payment_failed', detail: 'insufficient funds' });
    const events = await eventsOf(shop, orderId, ['order.cancelled']);
    expect(events.map((e) => e.type)).toEqual(['order.placed', 'stock.reserved', 'payment.failed', 'order.cancelled']);
    expect(events[2].data).toMatchObject({ error: 'insufficient funds', code: 'card_declined' });
    expect(events[3].data).toMatchObject({ reason: 'payment_failed', stockReserved: true });
    expect(cancelled.body.history.map((h: { status: string }) => h.status)).toEqual(['pending', 'stock_reserved', 'cancelled']);
  });

  it('an unknown token fails as an invalid token', async () => {
    const orderId = await placeOrder(shop, userId, productId, 'tok_made_up');
    await shop.publish(stockReserved(orderId, productId));
    const cancelled = await orderReaches(shop, orderId, 'cancelled');
    expect(cancelled.body.cancellation).toEqual({ reason: 'payment_failed', detail: 'invalid token' });
  });

  it('a duplicated stock.reserved (the same fact under a new id) charges once: one sandbox charge per order', async () => {
    const orderId = await placeOrder(shop, userId, productId, 'tok_slow');
    const event = { ...stockReserved(orderId, productId), id: uuidv7() };
    await shop.publish(event);
    // Another copy of the same fact under a new id, as a duplicating producer would send it.
    await shop.publish({ ...event, id: uuidv7() });
    await orderReaches(shop, orderId, 'confirmed');
    await eventsOf(shop, orderId, ['order.confirmed']);
    const charges = await shop.request('GET', `/v1/payments/sandbox/charges?idempotencyKey=order:${orderId}`);
    expect(charges.body.charges).toHaveLength(1);
    expect(await shop.eventsAbout(`order/${orderId}`, ['payment.succeeded'])).toHaveLength(1);
  });

  it('a checked-out cart becomes the order the cart named, paid with the cart’s token', async () => {
    const orderId = uuidv7();
    const cartId = uuidv7();
    await shop.publish({
      type: 'cart.checked_out',
      source: '/services/carts',
      data: { cartId, orderId, userId, items: [{ productId, quantity: 3, unitPriceCents: 1250 }], totalCents: 3750, currency: 'EUR', paymentToken: 'tok_ok' },
    });
    const pending = await eventually(async () => {
      const answer = await shop.request('GET', `/v1/orders/${orderId}`);
      return answer.status === 200 ? answer : undefined;
    }, 'the order of the cart');
    expect(pending.body).toMatchObject({ id: orderId, cartId, userId, totalCents: 3750 });
    await eventsOf(shop, orderId, ['order.placed']);
    await shop.publish(stockReserved(orderId, productId, 3));
    await orderReaches(shop, orderId, 'confirmed');
    const placed = (await eventsOf(shop, orderId, ['order.placed'])).find((e) => e.type === 'order.placed')!;
    expect(placed.data).toMatchObject({ orderId, userId, totalCents: 3750, paymentToken: 'tok_ok' });
    expect(placed.causationid).toBeDefined();
  });

  it('a banned customer’s checkout is refused: recorded cancelled (user_banned), never placed; nothing reserved or charged', async () => {
    const bannedId = await customer(shop, `banned-${dialect}@example.com`);
    expect((await shop.request('POST', `/v1/users/${bannedId}/ban`, { body: { reason: 'chargebacks' } })).status).toBe(200);
    // The orders replica learns of the ban from user.banned.
    await eventually(async () => {
      const answer = await shop.request('POST', '/v1/orders', { body: { userId: bannedId, items: [{ productId, quantity: 1 }], paymentToken: 'tok_ok' } });
      return answer.status === 403 ? true : undefined;
    }, 'the orders replica to know of the ban');
    const orderId = uuidv7();
    await shop.publish({
      type: 'cart.checked_out',
      source: '/services/carts',
      data: { cartId: uuidv7(), orderId, userId: bannedId, items: [{ productId, quantity: 1, unitPriceCents: 1250 }], totalCents: 1250, currency: 'EUR', paymentToken: 'tok_ok' },
    });
    const cancelled = await orderReaches(shop, orderId, 'cancelled');
    expect(cancelled.body.cancellation).toEqual({ reason: 'user_banned', detail: 'customer is banned' });
    const events = await eventsOf(shop, orderId, ['order.cancelled']);
    expect(events.map((e) => e.type)).toEqual(['order.cancelled']);
    expect(events[0].data).toMatchObject({ reason: 'user_banned', stockReserved: false });
    // Payments never saw the order placed: even a stock.reserved charges nothing.
    await shop.publish(stockReserved(orderId, productId, 1));
    await shop.caughtUp('payments.charges');
    expect((await shop.request('GET', `/v1/payments/sandbox/charges?idempotencyKey=order:${orderId}`)).body.charges).toEqual([]);
  });

  it('the 15-minute payment timeout shows the orders it waits on as scheduled, not as lag or in flight', async () => {
    await placeOrder(shop, userId, productId, 'tok_ok');
    const placed = await shop.request('GET', '/v1/events?type=order.placed&limit=1000');
    const waiting = (placed.body.events as { recordedtime: string }[]).filter((e) => Date.parse(e.recordedtime) > Date.now() - 15 * 60_000).length;
    expect(waiting).toBeGreaterThan(0);
    const { body } = await shop.request('GET', '/v1/subscriptions');
    const timeout = (body.subscriptions as { name: string }[]).find((s) => s.name === 'orders.payment-timeout');
    expect(timeout).toMatchObject({ types: ['order.placed'], lag: 0, inFlight: 0, retrying: 0, scheduled: waiting, consumers: 1 });
  });

  it('GET /v1/orders lists a customer’s orders; an unknown order is 404', async () => {
    const list = await shop.request('GET', `/v1/orders?userId=${userId}`);
    expect(list.status).toBe(200);
    expect(list.body.orders.length).toBeGreaterThanOrEqual(5);
    expect((await shop.request('GET', `/v1/orders/${uuidv7()}`)).status).toBe(404);
  });
});

describe.each(STACKS)('payment timeout (FLAMINGO_PAYMENT_TIMEOUT_MS=1000, $name)', (stack) => {
  let run: StackRun;
  let shop: Shop;
  let userId: string;
  const productId = uuidv7();

  beforeAll(async () => {
    run = await stack.provision();
    shop = await startShop({ env: { ...run.env, FLAMINGO_PAYMENT_TIMEOUT_MS: '1000', FLAMINGO_SANDBOX_SLOW_MS: '2500' } });
    await shop.publish(productCreated(productId, 990));
    userId = await customer(shop, 'late@example.com');
  });
  afterAll(async () => {
    await shop?.stop();
    await run?.cleanup();
  });

  it('an order not paid in time is cancelled (payment_timeout)', async () => {
    const started = Date.now();
    const orderId = await placeOrder(shop, userId, productId, 'tok_ok');
    await shop.publish(stockReserved(orderId, productId));
    // tok_ok pays at once: this order is confirmed well before its deadline and stays so.
    await orderReaches(shop, orderId, 'confirmed');

    const unpaid = await placeOrder(shop, userId, productId, 'tok_ok');
    const cancelled = await orderReaches(shop, unpaid, 'cancelled', 5000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(cancelled.body.cancellation.reason).toBe('payment_timeout');
    const history = cancelled.body.history as { status: string; eventType: string }[];
    expect(history.map((h) => [h.status, h.eventType])).toEqual([
      ['pending', 'order.placed'],
      ['cancelled', 'order.cancelled'],
    ]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await shop.request('GET', `/v1/orders/${orderId}`)).body.status).toBe('confirmed');
  });

  it('a payment that settles after the timeout is refunded', async () => {
    const orderId = await placeOrder(shop, userId, productId, 'tok_slow');
    await shop.publish(stockReserved(orderId, productId));
    await orderReaches(shop, orderId, 'cancelled', 5000);
    const events = await eventually(async () => {
      const seen = await shop.eventsAbout(`order/${orderId}`);
      return seen.some((e) => e.type === 'payment.refunded') ? seen : undefined;
    }, 'the refund', 8000);
    expect(events.map((e) => e.type)).toEqual(['order.placed', 'stock.reserved', 'order.cancelled', 'payment.succeeded', 'payment.refunded']);
    expect(events[4].data).toMatchObject({ orderId, amountCents: 1980, reason: 'order cancelled: payment_timeout' });
    const payment = await shop.request('GET', `/v1/payments/${orderId}`);
    expect(payment.body).toMatchObject({ status: 'succeeded', refund: { status: 'refunded' } });
    // The order stays cancelled; the late payment is recorded by payments, not by the order.
    expect((await shop.request('GET', `/v1/orders/${orderId}`)).body.status).toBe('cancelled');
  });
});
