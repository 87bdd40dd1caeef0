/**
 * Seed 004's walk-through over HTTP: create a user, get it, create an order for it, get the order,
 * a second user with the same e-mail is refused (409), an order for an unknown user is refused.
 * The orders service knows users only from its own replica, built from `user.*` events.
 * Unlike the seed's curl, the reads of a user and of an order, and placing an order, send
 * credentials (the customer's session token, or the admin key for an order for someone else):
 * they hold personal data or act in a customer's name, so anonymous requests are refused with 401
 * (issue 7).
 */
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, productCreated, startShop, type Shop } from './support/shop.ts';
import { STACKS, type StackRun } from './support/stacks.ts';

describe.each(STACKS)('seed 004 walk-through ($name)', (stack) => {
  let run: StackRun;
  let shop: Shop;
  const productId = uuidv7();
  let userId: string;
  let orderId: string;
  let token: string;

  beforeAll(async () => {
    run = await stack.provision();
    shop = await startShop({ env: run.env });
    await shop.publish(productCreated(productId, 50, { name: 'coffee' }));
  });
  afterAll(async () => {
    await shop?.stop();
    await run?.cleanup();
  });

  it('1. creates a user', async () => {
    const created = await shop.request('POST', '/v1/users', {
      key: null,
      body: { email: 'setiadi@example.com', name: 'Setiadi', password: 'correct horse battery' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ email: 'setiadi@example.com', name: 'Setiadi', banned: false });
    userId = created.body.id;
    expect(userId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
  });

  it('2. gets the created user as that customer, without any password material', async () => {
    const login = await shop.request('POST', '/v1/auth/login', { key: null, body: { email: 'setiadi@example.com', password: 'correct horse battery' } });
    expect(login.status).toBe(200);
    token = login.body.token;
    expect((await shop.request('GET', `/v1/users/${userId}`, { key: null })).status).toBe(401);
    const got = await shop.request('GET', `/v1/users/${userId}`, { key: token });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id: userId, email: 'setiadi@example.com', name: 'Setiadi' });
    expect(got.text).not.toMatch(/password|scrypt|horse/i);
  });

  it('3. creates an order for the user (once the orders replica has seen user.registered)', async () => {
    const placed = await eventually(async () => {
      const answer = await shop.request('POST', '/v1/orders', {
        key: token,
        body: { userId, items: [{ productId, quantity: 100 }], paymentToken: 'tok_ok' },
      });
      return answer.status === 422 && answer.body.error === 'unknown_user' ? undefined : answer;
    }, 'the orders replica to know the user');
    expect(placed.status).toBe(201);
    expect(placed.body).toMatchObject({ userId, status: 'pending', totalCents: 5000, currency: 'EUR' });
    expect(placed.body.items).toEqual([{ productId, quantity: 100, unitPriceCents: 50, sku: expect.any(String), name: 'coffee' }]);
    orderId = placed.body.id;
  });

  it('4. gets the created order with its history, as its customer', async () => {
    expect((await shop.request('GET', `/v1/orders/${orderId}`, { key: null })).status).toBe(401);
    const got = await shop.request('GET', `/v1/orders/${orderId}`, { key: token });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id: orderId, userId, totalCents: 5000 });
    expect(got.body.history[0]).toMatchObject({ status: 'pending', eventType: 'order.placed', eventId: expect.any(String) });
    // The service relays its outbox to the bus after answering, so the event may land a moment later.
    const [placed] = await eventually(async () => {
      const seen = await shop.eventsAbout(`order/${orderId}`, ['order.placed']);
      return seen.length > 0 ? seen : undefined;
    }, 'order.placed on the bus');
    expect(placed.id).toBe(got.body.history[0].eventId);
  });

  it('5. refuses a user with an existing e-mail (409), whatever its case', async () => {
    for (const email of ['setiadi@example.com', 'Setiadi@EXAMPLE.com']) {
      const again = await shop.request('POST', '/v1/users', { key: null, body: { email, name: 'Setiadi', password: 'another password' } });
      expect(again.status).toBe(409);
      expect(again.body).toMatchObject({ error: 'email_taken', detail: [{ path: '/email' }] });
    }
    const registered = await shop.eventsAbout(`user/${userId}`, ['user.registered']);
    expect(registered).toHaveLength(1);
  });

  it('6. refuses an order for a user that does not exist (422 naming /userId)', async () => {
    const anonymous = await shop.request('POST', '/v1/orders', { key: null, body: { userId, items: [{ productId, quantity: 1 }], paymentToken: 'tok_ok' } });
    expect(anonymous.status).toBe(401);
    // The admin key may order for anyone; the orders replica does not know this one.
    const refused = await shop.request('POST', '/v1/orders', {
      body: { userId: uuidv7(), items: [{ productId, quantity: 100 }], paymentToken: 'tok_ok' },
    });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ error: 'unknown_user', detail: [{ path: '/userId' }] });
  });

  it('refuses an order for an unknown product, naming the line', async () => {
    const refused = await shop.request('POST', '/v1/orders', {
      key: token,
      body: { userId, items: [{ productId, quantity: 1 }, { productId: 'no-such-product', quantity: 1 }], paymentToken: 'tok_ok' },
    });
    expect(refused.status).toBe(422);
    expect(refused.body.detail).toEqual([{ path: '/items/1/productId', message: expect.stringContaining('unknown product') }]);
  });
});
