/**
 * Money and quantities are bounded (issue 7, item 9): the catalog refuses an amount above
 * MAX_CENTS (2 000 000 000) and a quantity above MAX_QUANTITY (1 000 000 000) — the issue's
 * `totalCents: 100000000000000000000` once passed (rounded above 2^53), then overflowed PostgreSQL's
 * bigint and dead-lettered with stock reserved. The services' HTTP APIs keep every amount, total
 * and stock within the same bounds, and an order at the largest amount goes through the whole saga
 * on both service databases without a dead letter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDefinition, MAX_CENTS, MAX_QUANTITY } from '../src/contracts/index.ts';
import { services } from '../src/services/index.ts';
import { databaseState, settledDatabaseState, type DatabaseState } from './support/database-state.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { eventually, orderReaches } from './support/shop.ts';
import { createRunDatabase, dropRunDatabase } from './support/stacks.ts';

describe.each(['sqlite', 'postgres'] as const)('money and quantity bounds (services on %s)', (dialect) => {
  let server: TestServer;
  let databaseUrl: string | undefined;
  let userId: string;
  let productId: string;

  /** A key of `type`'s producer, so the collector reaches the schema check (only it may publish a service's type). */
  const keyFor = (type: string) => server.producerKey(findDefinition(type)!.producer);

  /** Runs `refuse` once background work has settled, then checks every table of every database is as before. */
  async function storesNothing(refuse: () => Promise<void>) {
    const before: DatabaseState = await settledDatabaseState(server.dataDir, databaseUrl, { bus: server.flamingo.bus });
    await refuse();
    expect(await databaseState(server.dataDir, databaseUrl)).toEqual(before);
  }

  beforeAll(async () => {
    databaseUrl = dialect === 'postgres' ? await createRunDatabase('flamingo_money') : undefined;
    server = await startTestServer({ ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}), FLAMINGO_RATE_LIMIT_LOGIN: '0' }, { registry: services });
    const user = await server.request('POST', '/v1/users', { key: null, body: { email: 'rich@example.com', name: 'Rich', password: 'a long enough password' } });
    expect(user.status).toBe(201);
    userId = user.body.id;
    const product = await server.request('POST', '/v1/products', { body: { sku: 'YACHT-1', name: 'Yacht', priceCents: MAX_CENTS, currency: 'EUR', onHand: 10 } });
    expect(product.status, product.text).toBe(201);
    productId = product.body.id;
    // The orders service prices from its replicas of users and products, built from their events.
    await eventually(async () => {
      const all = (await server.request('GET', '/v1/subscriptions')).body.subscriptions as { lag: number; inFlight: number; retrying: number }[];
      return all.length > 0 && all.every((s) => s.lag === 0 && s.inFlight === 0 && s.retrying === 0) ? true : undefined;
    }, 'every subscription to catch up');
  });
  afterAll(async () => {
    await server?.stop();
    if (databaseUrl) await dropRunDatabase(databaseUrl);
  });

  it('refuses the issue’s order.placed with totalCents 100000000000000000000, naming the field and the bound', async () => {
    const body = `{"specversion":"1.0","id":"o-big-1","type":"order.placed","source":"/test","data":{"orderId":"o-big","userId":"${userId}","items":[{"productId":"${productId}","quantity":5,"unitPriceCents":0}],"totalCents":100000000000000000000,"currency":"EUR","paymentToken":"tok_ok"}}`;
    const key = await keyFor('order.placed');
    await storesNothing(async () => {
      const response = await server.request('POST', '/v1/events', { body, contentType: 'application/cloudevents+json', key });
      expect(response.status).toBe(422);
      expect(response.body).toMatchObject({ error: 'invalid_event', detail: [{ path: '/data/totalCents', message: `Expected integer to be less or equal to ${MAX_CENTS}` }] });
    });
  });

  it.each([
    ['cart.checked_out', '/data/items/0/unitPriceCents', { cartId: 'c', orderId: 'o', items: [{ productId: 'p', quantity: 1, unitPriceCents: MAX_CENTS + 1 }], totalCents: 1, currency: 'EUR' }],
    ['cart.checked_out', '/data/items/0/quantity', { cartId: 'c', orderId: 'o', items: [{ productId: 'p', quantity: MAX_QUANTITY + 1, unitPriceCents: 1 }], totalCents: 1, currency: 'EUR' }],
    ['payment.refunded', '/data/amountCents', { orderId: 'o', paymentId: 'p', amountCents: 2 ** 53, currency: 'EUR' }],
    ['stock.adjusted', '/data/delta', { productId: 'p', delta: -(MAX_QUANTITY + 1), onHand: 0, reason: 'correction' }],
    ['product.created', '/data/onHand', { productId: 'p', sku: 's', name: 'n', priceCents: 1, currency: 'EUR', onHand: 2 ** 31, lowStockThreshold: 0, active: true }],
    ['cart.item_added', '/data/item', { items: [1], item: 2 ** 31 }],
  ])('refuses %s with %s past its bound', async (type, path, data) => {
    const key = await keyFor(type);
    await storesNothing(async () => {
      const response = await server.request('POST', '/v1/events', { body: { specversion: '1.0', id: `${type}-${path}`, type, source: '/test', data }, contentType: 'application/cloudevents+json', key });
      expect({ status: response.status, paths: response.body.detail?.map((d: { path: string }) => d.path) }, response.text).toEqual({ status: 422, paths: expect.arrayContaining([path]) });
    });
  });

  it('keeps the services’ HTTP APIs within the bounds: price, stock on hand, cart and order totals', async () => {
    await storesNothing(async () => {
      const price = await server.request('POST', '/v1/products', { body: { sku: 'TOO-DEAR', name: 'x', priceCents: MAX_CENTS + 1 } });
      expect({ status: price.status, path: price.body.detail?.[0]?.path }).toEqual({ status: 400, path: '/body/priceCents' });
      const stock = await server.request('POST', `/v1/products/${productId}/stock`, { body: { delta: MAX_QUANTITY, reason: 'restock' } });
      expect({ status: stock.status, error: stock.body.error, detail: stock.body.detail }).toEqual({
        status: 422,
        error: 'too_much_stock',
        detail: [{ path: '/body/delta', message: `must be <= ${MAX_QUANTITY - 10}` }],
      });
      const order = await server.request('POST', '/v1/orders', { body: { userId, items: [{ productId, quantity: 2 }], paymentToken: 'tok_ok' } });
      expect({ status: order.status, error: order.body.error, path: order.body.detail?.[0]?.path }).toEqual({ status: 422, error: 'total_too_large', path: '/items' });
    });
    const cart = await server.request('POST', '/v1/carts', { key: null, body: {} });
    expect(cart.status, cart.text).toBe(201);
    await eventually(async () => ((await server.request('POST', `/v1/carts/${cart.body.id}/items`, { key: null, body: { productId, quantity: 1 } })).status === 200 ? true : undefined), 'the cart to take the product');
    await storesNothing(async () => {
      const more = await server.request('POST', `/v1/carts/${cart.body.id}/items`, { key: null, body: { productId, quantity: 1 } });
      expect({ status: more.status, error: more.body.error, path: more.body.detail?.[0]?.path }).toEqual({ status: 422, error: 'total_too_large', path: '/body/quantity' });
    });
  });

  it('takes an order of the largest amount through the whole saga, with no dead letter', async () => {
    const placed = await server.request('POST', '/v1/orders', { body: { userId, items: [{ productId, quantity: 1 }], paymentToken: 'tok_ok' } });
    expect(placed.status, placed.text).toBe(201);
    expect(placed.body.totalCents).toBe(MAX_CENTS);
    await orderReaches(server, placed.body.id, 'confirmed', 15_000);
    const subscriptions = (await server.request('GET', '/v1/subscriptions')).body.subscriptions as { name: string; deadLetters: number }[];
    expect(subscriptions.filter((s) => s.deadLetters > 0)).toEqual([]);
  });
});
