/**
 * `flamingo start --services …` runs a subset of the shop: one process runs users and orders, another
 * catalog, carts, payments and fulfillment, on one NATS JetStream stream and one PostgreSQL database.
 * Each serves its own services' HTTP API, and the order saga runs across both through the bus: the
 * order placed on one is reserved, charged and shipped by the other and completes; a declined
 * payment cancels it and the other releases the stock.
 */
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { adminApi, labelled, shared, showOutputOnFailure, startFlamingoProcess, useScaleOutRun, waitFor, type AdminApi } from './support/scale-out.ts';

const ADMIN_KEY = 'scale-out-split-admin-key-0123456789';
const TOKEN_SECRET = 'scale-out-split-token-secret-0123456789abcdef';

describe('the shop split over two processes (--services)', () => {
  const scaleOut = useScaleOutRun();
  const { processes } = scaleOut;
  /** users, orders */
  let front: AdminApi;
  /** catalog, carts, payments, fulfillment */
  let back: AdminApi;
  let productId: string;
  let userId: string;
  let token: string;

  const onHand = async () => (await back.call('GET', `/v1/products/${productId}`)).body.onHand as number;
  const orderStatus = async (orderId: string, status: string) => {
    let last = '';
    return waitFor(
      async () => {
        const answer = await front.call('GET', `/v1/orders/${orderId}`);
        last = answer.text;
        return answer.body?.status === status ? answer.body : undefined;
      },
      () => `order ${orderId} to be ${status}; last seen ${last}`,
      20_000,
      50,
    );
  };
  /** Places an order on the front process once its replica knows the product (from the other process). */
  const place = async (quantity: number, paymentToken: string): Promise<string> => {
    const placed = await waitFor(
      async () => {
        const response = await fetch(`${frontUrl()}/v1/orders`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ userId, items: [{ productId, quantity }], paymentToken }),
        });
        return response.status === 422 ? undefined : { status: response.status, body: (await response.json()) as { id: string } };
      },
      () => 'the orders replica to know the customer and the product',
      20_000,
      50,
    );
    expect(placed.status).toBe(201);
    return placed.body.id;
  };
  const frontUrl = () => processes[0].url;

  beforeAll(async () => {
    const run = scaleOut.run;
    const env = (name: string) => ({
      ...run.env,
      DATABASE_URL: labelled(run.databaseUrl!, name),
      FLAMINGO_ADMIN_KEY: ADMIN_KEY,
      FLAMINGO_TOKEN_SECRET: TOKEN_SECRET,
      FLAMINGO_SANDBOX_SLOW_MS: '200',
      LOG_LEVEL: 'warn',
    });
    const started = await Promise.all([
      startFlamingoProcess('front', ['start', '--services', 'users,orders'], env('front')),
      startFlamingoProcess('back', ['start', '--services', 'catalog,carts,payments,fulfillment'], env('back')),
    ]);
    processes.push(...started);
    front = adminApi(started[0].url, ADMIN_KEY);
    back = adminApi(started[1].url, ADMIN_KEY);

    const product = await back.call('POST', '/v1/products', { sku: 'BEANS-1KG', name: 'Coffee beans 1 kg', priceCents: 1250, onHand: 5 });
    expect(product.status).toBe(201);
    productId = product.body.id;
    const user = await front.call('POST', '/v1/users', { email: 'split@example.com', name: 'Shopper', password: 'a good password' });
    expect(user.status).toBe(201);
    userId = user.body.id;
    token = (await front.call('POST', '/v1/auth/login', { email: 'split@example.com', password: 'a good password' })).body.token;
  }, 60_000);
  beforeEach(() => showOutputOnFailure(processes));

  it('each process serves only its own services', async () => {
    expect((await front.call('GET', `/v1/products/${productId}`)).status).toBe(404);
    expect((await back.call('GET', `/v1/users/${userId}`)).status).toBe(404);
    expect((await back.call('GET', '/v1/orders?userId=x')).status).toBe(404);
    expect(processes[0].output()).toContain('services: users, orders');
    expect(processes[1].output()).toContain('services: catalog, carts, payments, fulfillment');
  });

  it('an order placed on one process is reserved, charged and shipped by the other, and completes', async () => {
    const orderId = await place(2, 'tok_ok');
    await orderStatus(orderId, 'confirmed');
    expect(await onHand()).toBe(3);
    expect((await back.call('GET', `/v1/payments/${orderId}`)).body).toMatchObject({ status: 'succeeded', amountCents: 2500 });

    const shipment = await waitFor(
      async () => (await back.call('GET', `/v1/shipments?orderId=${orderId}`)).body?.shipments?.[0] as { id: string } | undefined,
      () => 'the shipment of the confirmed order',
      20_000,
      50,
    );
    expect((await back.call('POST', `/v1/shipments/${shipment.id}/dispatch`, { carrier: 'PostNL' })).status).toBe(200);
    await orderStatus(orderId, 'shipped');
    expect((await back.call('POST', `/v1/shipments/${shipment.id}/deliver`)).status).toBe(200);
    const completed = await orderStatus(orderId, 'completed');
    expect(completed.history.map((h: { status: string }) => h.status)).toEqual(['pending', 'stock_reserved', 'paid', 'confirmed', 'shipped', 'delivered', 'completed']);
  });

  it('a declined payment on the other process cancels the order, and the other releases the stock', async () => {
    const orderId = await place(2, 'tok_declined');
    const cancelled = await orderStatus(orderId, 'cancelled');
    expect(cancelled.cancellation).toEqual({ reason: 'payment_failed', detail: 'insufficient funds' });
    await waitFor(async () => ((await onHand()) === 3 ? true : undefined), () => 'the stock to be released', 20_000, 50);
  });

  it('either process reports every subscription of the shop with the same position', async () => {
    const names = async (api: AdminApi) => ((await api.call('GET', '/v1/subscriptions')).body.subscriptions as { name: string; position: number; lag: number }[]).map((s) => s.name).sort();
    const [fromFront, fromBack] = await Promise.all([names(front), names(back)]);
    expect(fromFront).toEqual(fromBack);
    expect(fromFront).toEqual(expect.arrayContaining(['orders.saga', 'payments.charges']));
    // Both report the same: a subscription's state lives on the server, not in a process. (The
    // payment timeout holds its events until they are due, so its lag stays above 0.)
    for (const name of fromFront) {
      let seen = '';
      const settled = await waitFor(
        async () => {
          const [x, y] = await Promise.all([front.subscription(name), back.subscription(name)]);
          seen = JSON.stringify([x, y]);
          return x && y && JSON.stringify(shared(x)) === JSON.stringify(shared(y)) ? { x, y } : undefined;
        },
        () => `${name} to read the same on both: ${seen}`,
        20_000,
        100,
      );
      // Handlers are attached only where the service runs.
      expect(settled.x.consumers + settled.y.consumers).toBeGreaterThan(0);
      if (name !== 'orders.payment-timeout') expect(settled.x).toMatchObject({ deadLetters: 0, retrying: 0 });
    }
  });
});
