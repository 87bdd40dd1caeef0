/**
 * The order saga with the whole shop running — catalog & stock, carts, fulfillment, users, orders,
 * payments — driven through the HTTP API only: the happy path to `completed`, both compensations
 * (stock released after a declined payment), and a cart checked out into an order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cartsService } from '../src/services/carts/index.ts';
import { catalogService } from '../src/services/catalog/index.ts';
import { fulfillmentService } from '../src/services/fulfillment/index.ts';
import { eventually, orderReaches, startShop, type Shop } from './support/shop.ts';
import { STACKS, type StackRun } from './support/stacks.ts';

describe.each(STACKS)('order saga across the whole shop ($name)', (stack) => {
  let run: StackRun;
  let shop: Shop;
  let productId: string;
  let userId: string;
  let token: string;

  const onHand = async () => (await shop.request('GET', `/v1/products/${productId}`)).body.onHand as number;
  const place = (quantity: number, paymentToken: string) =>
    eventually(async () => {
      const answer = await shop.request('POST', '/v1/orders', { key: token, body: { userId, items: [{ productId, quantity }], paymentToken } });
      return answer.status === 422 ? undefined : answer;
    }, 'the orders replica to know the customer and the product');

  beforeAll(async () => {
    run = await stack.provision();
    shop = await startShop({ others: [catalogService(), cartsService(), fulfillmentService()], env: { ...run.env, FLAMINGO_SANDBOX_SLOW_MS: '200' } });
    const product = await shop.request('POST', '/v1/products', { body: { sku: 'BEANS-1KG', name: 'Coffee beans 1 kg', priceCents: 1250, onHand: 5 } });
    expect(product.status).toBe(201);
    productId = product.body.id;
    const user = await shop.request('POST', '/v1/users', { key: null, body: { email: 'shopper@example.com', name: 'Shopper', password: 'a good password' } });
    userId = user.body.id;
    token = (await shop.request('POST', '/v1/auth/login', { key: null, body: { email: 'shopper@example.com', password: 'a good password' } })).body.token;
  });
  afterAll(async () => {
    await shop?.stop();
    await run?.cleanup();
  });

  it('happy path: the catalog reserves, payments charges, fulfillment ships, the order completes', async () => {
    const placed = await place(2, 'tok_ok');
    expect(placed.status).toBe(201);
    const orderId = placed.body.id;
    await orderReaches(shop, orderId, 'confirmed');
    expect(await onHand()).toBe(3);

    const shipment = await eventually(async () => {
      const list = await shop.request('GET', `/v1/shipments?orderId=${orderId}`);
      return list.body.shipments?.[0];
    }, 'the shipment of the confirmed order');
    expect((await shop.request('POST', `/v1/shipments/${shipment.id}/dispatch`, { body: { carrier: 'PostNL' } })).status).toBe(200);
    await orderReaches(shop, orderId, 'shipped');
    expect((await shop.request('POST', `/v1/shipments/${shipment.id}/deliver`)).status).toBe(200);
    const completed = await orderReaches(shop, orderId, 'completed');
    expect(completed.body.history.map((h: { status: string }) => h.status)).toEqual([
      'pending',
      'stock_reserved',
      'paid',
      'confirmed',
      'shipped',
      'delivered',
      'completed',
    ]);
  });

  it('compensation: more than is on hand → cancelled (out_of_stock), stock untouched, nothing charged', async () => {
    const placed = await place(10, 'tok_ok');
    const cancelled = await orderReaches(shop, placed.body.id, 'cancelled');
    expect(cancelled.body.cancellation.reason).toBe('out_of_stock');
    expect(await onHand()).toBe(3);
    expect((await shop.request('GET', `/v1/payments/${placed.body.id}`)).status).toBe(404);
  });

  it('compensation: a declined payment → cancelled (payment_failed) and the reserved stock released', async () => {
    const placed = await place(2, 'tok_declined');
    const cancelled = await orderReaches(shop, placed.body.id, 'cancelled');
    expect(cancelled.body.cancellation).toEqual({ reason: 'payment_failed', detail: 'insufficient funds' });
    await eventually(async () => ((await onHand()) === 3 ? true : undefined), 'the stock to be released');
    const released = await eventually(async () => {
      const events = await shop.eventsAbout(`order/${placed.body.id}`, ['stock.released']);
      return events[0];
    }, 'stock.released');
    expect(released.data).toMatchObject({ reason: 'order_cancelled', items: [{ productId, quantity: 2 }] });
  });

  it('a cart checked out becomes an order that the saga carries to confirmed', async () => {
    const cart = await shop.request('POST', '/v1/carts', { key: token, body: {} });
    expect(cart.status).toBe(201);
    expect((await shop.request('POST', `/v1/carts/${cart.body.id}/items`, { key: token, body: { productId, quantity: 1 } })).status).toBe(200);
    const checkout = await shop.request('POST', `/v1/carts/${cart.body.id}/checkout`, { key: token, body: { paymentToken: 'tok_slow' } });
    expect(checkout.status).toBe(202);
    const confirmed = await orderReaches(shop, checkout.body.orderId, 'confirmed');
    expect(confirmed.body).toMatchObject({ cartId: cart.body.id, userId, totalCents: 1250 });
    expect(await onHand()).toBe(2);
  });
});
