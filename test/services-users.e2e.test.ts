/**
 * The users service over HTTP: validation, sign-in, the signed-in user, and a ban that takes effect
 * at once — in the users service (login and tokens refused) and, through the immediate
 * `user.banned` event, in the orders service (new orders refused, unpaid ones cancelled).
 */
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, orderReaches, productCreated, startShop, type Shop } from './support/shop.ts';
import { STACKS, type StackRun } from './support/stacks.ts';

describe.each(STACKS)('users service ($name)', (stack) => {
  let run: StackRun;
  let shop: Shop;
  const productId = uuidv7();
  const password = 'a long enough password';
  let userId: string;
  let token: string;

  beforeAll(async () => {
    run = await stack.provision();
    shop = await startShop({ env: { ...run.env, FLAMINGO_SANDBOX_SLOW_MS: '60000' } });
    await shop.publish(productCreated(productId, 1250));
    const created = await shop.request('POST', '/v1/users', { key: null, body: { email: 'Ada@Example.com', name: 'Ada', password } });
    expect(created.status).toBe(201);
    userId = created.body.id;
    // The outbox relays user.registered after the commit; the tests count events from then on.
    await eventually(async () => ((await shop.eventsAbout(`user/${userId}`)).length > 0 ? true : undefined), 'user.registered on the bus');
  });
  afterAll(async () => {
    await shop?.stop();
    await run?.cleanup();
  });

  it('refuses an invalid e-mail, naming the field, and writes nothing', async () => {
    const before = await shop.eventCount();
    const bad = await shop.request('POST', '/v1/users', { key: null, body: { email: 'not-an-email', name: 'X', password } });
    expect(bad.status).toBe(400);
    expect(bad.body.detail).toEqual([expect.objectContaining({ path: '/body/email' })]);
    const missing = await shop.request('POST', '/v1/users', { key: null, body: { name: 'X', password } });
    expect(missing.status).toBe(400);
    expect(missing.body.detail[0].path).toMatch(/email/);
    const short = await shop.request('POST', '/v1/users', { key: null, body: { email: 'x@example.com', name: 'X', password: 'short' } });
    expect(short.status).toBe(400);
    expect(short.body.detail[0].path).toMatch(/password/);
    expect(await shop.eventCount()).toBe(before);
  });

  it('publishes user.registered without the password', async () => {
    const [registered] = await eventually(async () => {
      const events = await shop.eventsAbout(`user/${userId}`, ['user.registered']);
      return events.length > 0 ? events : undefined;
    }, 'user.registered');
    expect(registered.data).toEqual({ userId, email: 'Ada@Example.com', name: 'Ada' });
  });

  it('signs in with the e-mail in any case and refuses a wrong password', async () => {
    const ok = await shop.request('POST', '/v1/auth/login', { key: null, body: { email: 'ada@example.com', password } });
    expect(ok.status).toBe(200);
    expect(ok.body.userId).toBe(userId);
    token = ok.body.token;
    const wrong = await shop.request('POST', '/v1/auth/login', { key: null, body: { email: 'ada@example.com', password: 'nope nope nope' } });
    expect(wrong.status).toBe(401);
    const unknown = await shop.request('POST', '/v1/auth/login', { key: null, body: { email: 'who@example.com', password } });
    expect(unknown.status).toBe(401);
  });

  it('GET /v1/users/me answers for a valid customer token only', async () => {
    expect((await shop.request('GET', '/v1/users/me', { key: token })).body).toMatchObject({ id: userId, banned: false });
    expect((await shop.request('GET', '/v1/users/me', { key: null })).status).toBe(401);
    expect((await shop.request('GET', '/v1/users/me', { key: 'not.a.token' })).status).toBe(401);
  });

  it('banning needs the admin key', async () => {
    expect((await shop.request('POST', `/v1/users/${userId}/ban`, { key: null, body: { reason: 'spam' } })).status).toBe(401);
    expect((await shop.request('POST', `/v1/users/${userId}/ban`, { key: token, body: { reason: 'spam' } })).status).toBe(403);
    expect((await shop.request('POST', `/v1/users/${uuidv7()}/ban`, { body: { reason: 'spam' } })).status).toBe(404);
  });

  it('a ban refuses login and existing tokens at once, and cancels unpaid orders through user.banned', async () => {
    // An order still waiting for payment (no stock.reserved yet) when the ban comes.
    const open = await eventually(async () => {
      const answer = await shop.request('POST', '/v1/orders', { key: token, body: { userId, items: [{ productId, quantity: 1 }], paymentToken: 'tok_ok' } });
      return answer.status === 201 ? answer : undefined;
    }, 'an order to be accepted');

    const banned = await shop.request('POST', `/v1/users/${userId}/ban`, { body: { reason: 'spam' } });
    expect(banned.status).toBe(200);
    expect(banned.body).toMatchObject({ banned: true, banReason: 'spam' });
    const at = Date.now();

    // Timed from the ban alone (the sign-in below hashes a password, which takes its own time under load).
    const refused = await eventually(async () => {
      const answer = await shop.request('POST', '/v1/orders', { body: { userId, items: [{ productId, quantity: 1 }], paymentToken: 'tok_ok' } });
      return answer.status === 403 ? answer : undefined;
    }, 'orders to refuse the banned user', 1000);
    expect(Date.now() - at).toBeLessThan(1000);
    expect(refused.body.detail).toEqual([{ path: '/userId', message: 'user is banned' }]);

    expect((await shop.request('GET', '/v1/users/me', { key: token })).status).toBe(403);
    const login = await shop.request('POST', '/v1/auth/login', { key: null, body: { email: 'ada@example.com', password } });
    expect(login.status).toBe(403);
    expect(login.body.error).toBe('forbidden');

    const cancelled = await orderReaches(shop, open.body.id, 'cancelled', 2000);
    expect(cancelled.body.cancellation).toEqual({ reason: 'user_banned', detail: 'spam' });
    const [event] = await eventually(async () => {
      const seen = await shop.eventsAbout(`order/${open.body.id}`, ['order.cancelled']);
      return seen.length > 0 ? seen : undefined;
    }, 'order.cancelled');
    expect(event.data).toMatchObject({ reason: 'user_banned', stockReserved: false });
    expect(await shop.eventsAbout(`user/${userId}`, ['user.banned'])).toHaveLength(1);
  });

  it('banning twice publishes one user.banned; unbanning lets the user back in', async () => {
    expect((await shop.request('POST', `/v1/users/${userId}/ban`, { body: { reason: 'spam again' } })).status).toBe(200);
    const unbanned = await shop.request('POST', `/v1/users/${userId}/unban`);
    expect(unbanned.status).toBe(200);
    expect(unbanned.body.banned).toBe(false);
    // user.unbanned reaches every route's guard within a second.
    await eventually(async () => ((await shop.request('GET', '/v1/users/me', { key: token })).status === 200 ? true : undefined), 'the token to be accepted again', 1000);
    expect((await shop.request('POST', '/v1/auth/login', { key: null, body: { email: 'ada@example.com', password } })).status).toBe(200);
    const events = await eventually(async () => {
      const seen = await shop.eventsAbout(`user/${userId}`, ['user.banned', 'user.unbanned']);
      return seen.length === 2 ? seen : undefined;
    }, 'one ban and one unban');
    expect(events.map((e) => e.type)).toEqual(['user.banned', 'user.unbanned']);
  });

  it('a customer token of another user cannot place an order for this one', async () => {
    const other = await shop.request('POST', '/v1/users', { key: null, body: { email: 'eve@example.com', name: 'Eve', password } });
    const login = await shop.request('POST', '/v1/auth/login', { key: null, body: { email: 'eve@example.com', password } });
    expect(other.status).toBe(201);
    const answer = await shop.request('POST', '/v1/orders', { key: login.body.token, body: { userId, items: [{ productId, quantity: 1 }], paymentToken: 'tok_ok' } });
    expect(answer.status).toBe(403);
    // Neither a customer token nor the admin key: refused; the admin key may order for anyone.
    expect((await shop.request('POST', '/v1/orders', { key: 'made-up', body: { userId, items: [{ productId, quantity: 1 }], paymentToken: 'tok_ok' } })).status).toBe(401);
    expect((await shop.request('POST', '/v1/orders', { body: { userId, items: [{ productId, quantity: 1 }], paymentToken: 'tok_ok' } })).status).toBe(201);
  });

  it('the users routes are in the OpenAPI document', async () => {
    const doc = await shop.request('GET', '/docs/json', { key: null });
    for (const route of ['/v1/users', '/v1/users/{id}', '/v1/users/me', '/v1/auth/login', '/v1/users/{id}/ban', '/v1/users/{id}/unban', '/v1/orders', '/v1/orders/{id}', '/v1/payments/{orderId}']) {
      expect(doc.body.paths[route], route).toBeDefined();
    }
    expect(JSON.stringify(doc.body.paths['/v1/users'].post.requestBody)).toContain('"format":"email"');
  });

  it('no event about the user carries a password or its hash', async () => {
    expect(JSON.stringify(await shop.eventsAbout(`user/${userId}`))).not.toMatch(/password|scrypt/);
  });
});
