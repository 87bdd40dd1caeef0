/**
 * Issue 7 item 1, "anonymous orders at any price", walked as the attacker did against the whole
 * shop on the embedded stack: a keyless `cart.checked_out` at price 0 through the seed endpoint, the
 * same through the collector with the admin key and with keys of the wrong scope, and a
 * `webshop` key checking out at a price of its own. Each is refused: nothing stored where refused,
 * and in no case an order placed, stock taken or a charge made. Also: ordering or opening a cart in
 * a customer's name needs their token (or the admin key), and reviews do not show customer ids.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/platform/config.ts';
import { services } from '../src/services/index.ts';
import { startTestServer, type TestServer } from './support/server.ts';

let shop: TestServer;
let productId: string;
let customer: { id: string; token: string };
let other: { id: string; token: string };
const PRICE = 1250;
const ON_HAND = 10;

/** Waits until the subscriptions named have handled everything in the log. */
async function caughtUp(names: readonly string[], timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await shop.request('GET', '/v1/subscriptions');
    const subscriptions = body.subscriptions as { name: string; lag: number; inFlight: number; retrying: number }[];
    if (names.every((name) => subscriptions.some((s) => s.name === name && s.lag === 0 && s.inFlight === 0 && s.retrying === 0))) return;
    if (Date.now() > until) throw new Error(`timed out waiting for ${names.join(', ')}: ${JSON.stringify(subscriptions)}`);
    await sleep(25);
  }
}

async function register(email: string, name: string) {
  const created = await shop.request('POST', '/v1/users', { key: null, body: { email, name, password: 'a good password' } });
  expect(created.status).toBe(201);
  const login = await shop.request('POST', '/v1/auth/login', { key: null, body: { email, password: 'a good password' } });
  return { id: created.body.id as string, token: login.body.token as string };
}

/** The attacker's checkout: five units at 0 cents, paid by the sandbox's always-good token. */
const freeCheckout = (orderId: string) => ({
  cartId: uuidv7(),
  orderId,
  userId: customer.id,
  items: [{ productId, quantity: 5, unitPriceCents: 0 }],
  totalCents: 0,
  currency: 'EUR',
  paymentToken: 'tok_ok',
});

/** Nothing happened about `orderId`: no order, no event about it, the stock untouched, no charge. */
async function nothingHappened(orderId: string) {
  expect((await shop.request('GET', `/v1/orders/${orderId}`)).status).toBe(404);
  const events = await shop.flamingo.bus.read({ subject: `order/${orderId}`, limit: 100 });
  const checkouts = await shop.flamingo.bus.read({ types: ['cart.checked_out'], limit: 1000 });
  expect(events.map((e) => e.type)).toEqual([]);
  expect(checkouts.filter((e) => (e.data as { orderId: string }).orderId === orderId)).toEqual([]);
  expect((await shop.request('GET', `/v1/products/${productId}`)).body.onHand).toBe(ON_HAND);
  expect((await shop.request('GET', `/v1/payments/sandbox/charges?idempotencyKey=order:${orderId}`)).body.charges).toEqual([]);
}

beforeAll(async () => {
  shop = await startTestServer({}, { registry: services });
  const product = await shop.request('POST', '/v1/products', { body: { sku: 'BEANS-1KG', name: 'Coffee beans 1 kg', priceCents: PRICE, onHand: ON_HAND } });
  expect(product.status).toBe(201);
  productId = product.body.id;
  customer = await register('ada@example.com', 'Ada Lovelace');
  other = await register('eve@example.com', 'Eve Mallory');
  // The orders replica knows the customers and the product.
  await caughtUp(['orders.replicas', 'reviews.reviewers', 'reviews.products', 'carts.products']);
});
afterAll(() => shop?.stop());

describe('a checkout at a price of the attacker’s choosing is refused (issue 7 item 1)', () => {
  it('the customer id is not public: reviews show a display name', async () => {
    const review = await shop.request('POST', `/v1/products/${productId}/reviews`, { key: customer.token, body: { rating: 5, comment: 'Great beans.' } });
    expect(review.status).toBe(201);
    const listed = await shop.request('GET', `/v1/products/${productId}/reviews`, { key: null });
    expect(listed.body.reviews).toEqual([expect.objectContaining({ author: 'Ada L.', rating: 5 })]);
    expect(listed.text).not.toContain(customer.id);
  });

  it('keyless through the seed endpoint: 401, nothing stored, no order, no stock taken, no charge', async () => {
    const orderId = uuidv7();
    const { userId, items, totalCents, currency, paymentToken, cartId } = freeCheckout(orderId);
    const attack = {
      event_id: uuidv7(),
      stamp: '2026-01-01T12:00:00',
      event: { event_name: 'cart.checked_out', event_time: '2026-01-01T12:00:00', cartId, orderId, userId, items, totalCents, currency, paymentToken },
    };
    const answer = await shop.request('POST', '/event', { key: null, contentType: null, body: attack });
    expect(answer.status).toBe(401);
    expect(answer.body.message).toMatch(/cart\.checked_out needs an API key/);
    await sleep(300);
    await nothingHappened(orderId);
  });

  it('through the collector with the admin key, a key without producer, or another producer’s key: 403 naming the producer, nothing stored', async () => {
    const patternKey = await shop.producerKey(null, ['cart.*']);
    const ordersKey = await shop.producerKey('orders');
    for (const key of [shop.adminKey, patternKey, ordersKey]) {
      const orderId = uuidv7();
      const answer = await shop.request('POST', '/v1/events', {
        key,
        contentType: 'application/cloudevents+json',
        body: { specversion: '1.0', id: uuidv7(), type: 'cart.checked_out', source: '/attacker', data: freeCheckout(orderId) },
      });
      expect(answer.status).toBe(403);
      expect(answer.body.detail).toEqual([{ path: '/type', message: expect.stringMatching(/^cart\.checked_out is produced by webshop/) }]);
      expect(answer.body.message).toMatch(/flamingo keys create --producer webshop/);
      await nothingHappened(orderId);
    }
  });

  it('a webshop key’s checkout at the wrong price is recorded as refused: no order placed, no stock taken, no charge', async () => {
    const webshopKey = await shop.producerKey('webshop');
    const orderId = uuidv7();
    const answer = await shop.request('POST', '/v1/events', {
      key: webshopKey,
      contentType: 'application/cloudevents+json',
      body: { specversion: '1.0', id: uuidv7(), type: 'cart.checked_out', source: '/webshop', data: freeCheckout(orderId) },
    });
    expect(answer.status).toBe(202);
    await caughtUp(['orders.checkout']);
    const order = await shop.request('GET', `/v1/orders/${orderId}`);
    expect(order.body).toMatchObject({ status: 'cancelled', cancellation: { reason: 'fraud_suspected', detail: expect.stringMatching(/^price_mismatch: line 0 .* is 0 cents a unit, the catalog says 1250/) } });
    await caughtUp(['catalog.stock', 'payments.charges', 'fulfillment.shipments']);
    const events = await shop.flamingo.bus.read({ subject: `order/${orderId}`, limit: 100 });
    expect(events.map((e) => [e.type, (e.data as { reason?: string }).reason])).toEqual([['order.cancelled', 'fraud_suspected']]);
    expect((await shop.request('GET', `/v1/products/${productId}`)).body.onHand).toBe(ON_HAND);
    expect((await shop.request('GET', `/v1/payments/sandbox/charges?idempotencyKey=order:${orderId}`)).body.charges).toEqual([]);

    // The same key at the catalog's prices places the order: the key works, the price was the problem.
    const fairId = uuidv7();
    const fair = { ...freeCheckout(fairId), items: [{ productId, quantity: 2, unitPriceCents: PRICE }], totalCents: 2 * PRICE };
    const placed = await shop.request('POST', '/v1/events', { key: webshopKey, contentType: 'application/cloudevents+json', body: { specversion: '1.0', id: uuidv7(), source: '/webshop', type: 'cart.checked_out', data: fair } });
    expect(placed.status).toBe(202);
    for (const until = Date.now() + 15_000; (await shop.request('GET', `/v1/orders/${fairId}`)).body?.status !== 'confirmed'; await sleep(50)) {
      if (Date.now() > until) throw new Error('the fair order was not confirmed');
    }
    expect((await shop.request('GET', `/v1/payments/sandbox/charges?idempotencyKey=order:${fairId}`)).body.charges).toEqual([expect.objectContaining({ amountCents: 2 * PRICE, status: 'succeeded' })]);
  });

  it('FLAMINGO_SEED_TYPES may not open a type a service acts on: start-up refuses cart.* and cart.checked_out', () => {
    for (const value of ['cart.*', 'cart.checked_out']) {
      expect(() => loadConfig({ FLAMINGO_SEED_TYPES: value, FLAMINGO_DATA_DIR: shop.dataDir }, shop.dataDir)).toThrow(ConfigError);
      expect(() => loadConfig({ FLAMINGO_SEED_TYPES: value, FLAMINGO_DATA_DIR: shop.dataDir }, shop.dataDir)).toThrow(/^FLAMINGO_SEED_TYPES: /);
    }
  });
});

describe('acting in a customer’s name needs their session token or the admin key (issue 7 item 1)', () => {
  const order = () => ({ userId: customer.id, items: [{ productId, quantity: 1 }], paymentToken: 'tok_ok' });

  it('POST /v1/orders: anonymous 401, another customer 403, nothing placed; the customer and the admin may', async () => {
    const before = (await shop.request('GET', `/v1/orders?userId=${customer.id}`)).body.orders.length;
    expect((await shop.request('POST', '/v1/orders', { key: null, body: order() })).status).toBe(401);
    expect((await shop.request('POST', '/v1/orders', { key: other.token, body: order() })).status).toBe(403);
    expect((await shop.request('GET', `/v1/orders?userId=${customer.id}`)).body.orders).toHaveLength(before);
    expect((await shop.request('POST', '/v1/orders', { key: customer.token, body: order() })).status).toBe(201);
    expect((await shop.request('POST', '/v1/orders', { body: order() })).status).toBe(201);
  });

  it('POST /v1/carts and a guest checkout naming a userId: anonymous 401, another customer 403; a guest cart stays open to all', async () => {
    expect((await shop.request('POST', '/v1/carts', { key: null, body: { userId: customer.id } })).status).toBe(401);
    expect((await shop.request('POST', '/v1/carts', { key: other.token, body: { userId: customer.id } })).status).toBe(403);
    expect((await shop.request('POST', '/v1/carts', { key: customer.token, body: { userId: customer.id } })).body).toMatchObject({ userId: customer.id });
    expect((await shop.request('POST', '/v1/carts', { body: { userId: customer.id } })).body).toMatchObject({ userId: customer.id });

    const guest = await shop.request('POST', '/v1/carts', { key: null });
    expect([guest.status, guest.body.userId]).toEqual([201, undefined]);
    expect((await shop.request('POST', `/v1/carts/${guest.body.id}/items`, { key: null, body: { productId } })).status).toBe(200);
    const checkout = (key: string | null) => shop.request('POST', `/v1/carts/${guest.body.id}/checkout`, { key, body: { paymentToken: 'tok_ok', userId: customer.id } });
    expect((await checkout(null)).status).toBe(401);
    expect((await checkout(other.token)).status).toBe(403);
    expect((await shop.request('GET', `/v1/carts/${guest.body.id}`, { key: null })).body.status).toBe('open');
  });
});
