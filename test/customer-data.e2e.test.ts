/**
 * A customer's personal data over HTTP — their account (`GET /v1/users/:id`) and their orders
 * (`GET /v1/orders/:id`, `GET /v1/orders?userId=`) — is answered for the admin key or the
 * customer's own session token only: none 401, another customer's token 403.
 */
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestResponse } from './support/server.ts';
import { eventually, productCreated, startShop, type Shop } from './support/shop.ts';

describe('who may read a customer’s data', () => {
  let shop: Shop;
  const productId = uuidv7();
  const password = 'a long enough password';
  let ada: { id: string; token: string };
  let bob: { id: string; token: string };
  let orderId: string;
  let producerKey: string;

  async function customer(email: string, name: string) {
    const created = await shop.request('POST', '/v1/users', { key: null, body: { email, name, password } });
    expect(created.status).toBe(201);
    const login = await shop.request('POST', '/v1/auth/login', { key: null, body: { email, password } });
    expect(login.status).toBe(200);
    return { id: created.body.id as string, token: login.body.token as string };
  }

  /** 401 with the API's error body and a Bearer challenge. */
  const expectUnauthorized = (answer: TestResponse) => {
    expect(answer.status).toBe(401);
    expect(answer.body).toEqual({ error: 'unauthorized', message: expect.stringMatching(/admin key or the customer.s session token/) });
    expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer /);
  };
  const expectForbidden = (answer: TestResponse) => {
    expect(answer.status).toBe(403);
    expect(answer.body).toMatchObject({ error: 'forbidden', message: expect.any(String) });
    expect(answer.text).not.toMatch(/@example\.com/);
  };

  beforeAll(async () => {
    shop = await startShop();
    await shop.publish(productCreated(productId, 700));
    ada = await customer('ada@example.com', 'Ada');
    bob = await customer('bob@example.com', 'Bob');
    const placed = await eventually(async () => {
      const answer = await shop.request('POST', '/v1/orders', { key: ada.token, body: { userId: ada.id, items: [{ productId, quantity: 1 }], paymentToken: 'tok_ok' } });
      return answer.status === 422 ? undefined : answer;
    }, 'the orders replica to know the customer');
    expect(placed.status).toBe(201);
    orderId = placed.body.id;
    const key = await shop.request('POST', '/v1/keys', { body: { name: 'orders-producer', producer: 'orders', types: ['order.*'] } });
    expect(key.status).toBe(201);
    producerKey = key.body.key;
  });
  afterAll(() => shop?.stop());

  describe('GET /v1/users/:id', () => {
    const get = (key: string | null | undefined) => shop.request('GET', `/v1/users/${ada.id}`, key === undefined ? {} : { key });

    it('answers the customer themself and the admin', async () => {
      for (const answer of [await get(ada.token), await get(undefined)]) {
        expect(answer.status).toBe(200);
        expect(answer.body).toMatchObject({ id: ada.id, email: 'ada@example.com', name: 'Ada' });
      }
    });

    it('refuses no credentials or invalid ones with 401', async () => {
      expectUnauthorized(await get(null));
      expectUnauthorized(await get('not.a.token'));
      expectUnauthorized(await shop.request('GET', `/v1/users/${ada.id}`, { key: null, headers: { authorization: 'Basic YWRhOnB3' } }));
    });

    it('refuses another customer’s token and a producer key with 403', async () => {
      const answer = await get(bob.token);
      expectForbidden(answer);
      expect(answer.body.detail).toEqual([{ path: '/params/id', message: expect.any(String) }]);
      // Whether the account exists is not told to another customer either.
      expectForbidden(await shop.request('GET', `/v1/users/${uuidv7()}`, { key: bob.token }));
      expectForbidden(await get(producerKey));
    });

    it('answers 404 for an unknown account to the admin', async () => {
      expect((await shop.request('GET', `/v1/users/${uuidv7()}`)).status).toBe(404);
    });
  });

  describe('GET /v1/orders/:id', () => {
    const get = (key: string | null | undefined, id = orderId) => shop.request('GET', `/v1/orders/${id}`, key === undefined ? {} : { key });

    it('answers the customer who placed it and the admin', async () => {
      for (const answer of [await get(ada.token), await get(undefined)]) {
        expect(answer.status).toBe(200);
        expect(answer.body).toMatchObject({ id: orderId, userId: ada.id });
      }
    });

    it('refuses no credentials or invalid ones with 401, before looking the order up', async () => {
      expectUnauthorized(await get(null));
      expectUnauthorized(await get('not.a.token'));
      expectUnauthorized(await get(null, uuidv7()));
    });

    it('refuses another customer’s token and a producer key with 403', async () => {
      expectForbidden(await get(bob.token));
      expectForbidden(await get(producerKey));
    });
  });

  describe('GET /v1/orders?userId=', () => {
    const list = (key: string | null | undefined, userId = ada.id) => shop.request('GET', `/v1/orders?userId=${userId}`, key === undefined ? {} : { key });

    it('lists a customer’s orders for them and for the admin', async () => {
      for (const answer of [await list(ada.token), await list(undefined)]) {
        expect(answer.status).toBe(200);
        expect(answer.body.orders.map((o: { id: string }) => o.id)).toEqual([orderId]);
      }
      const own = await list(bob.token, bob.id);
      expect(own.status).toBe(200);
      expect(own.body.orders).toEqual([]);
    });

    it('without userId: a customer’s token lists their own orders; the admin key must name the customer', async () => {
      const mine = await shop.request('GET', '/v1/orders', { key: ada.token });
      expect([mine.status, mine.body.orders?.map((o: { id: string }) => o.id)]).toEqual([200, [orderId]]);
      expect((await shop.request('GET', '/v1/orders', { key: bob.token })).body.orders).toEqual([]);
      const admin = await shop.request('GET', '/v1/orders');
      expect([admin.status, admin.body.detail]).toEqual([400, [{ path: '/query/userId', message: expect.stringMatching(/required/) }]]);
    });

    it('refuses no credentials with 401 and another customer’s token with 403', async () => {
      expectUnauthorized(await list(null));
      const answer = await list(bob.token);
      expectForbidden(answer);
      expect(answer.body.detail).toEqual([{ path: '/query/userId', message: expect.any(String) }]);
    });
  });

  it('GET /v1/payments/:orderId: another customer’s token is refused with 403 (not a 401 about API keys), no credentials 401', async () => {
    expectForbidden(await shop.request('GET', `/v1/payments/${orderId}`, { key: bob.token }));
    expectForbidden(await shop.request('GET', '/v1/payments/no-such-order', { key: bob.token }));
    expectUnauthorized(await shop.request('GET', `/v1/payments/${orderId}`, { key: null }));
    expect([200, 404]).toContain((await shop.request('GET', `/v1/payments/${orderId}`)).status);
  });

  it('a banned customer’s own token no longer reads their account (as for /v1/users/me); the admin still does', async () => {
    const eve = await customer('eve@example.com', 'Eve');
    expect((await shop.request('GET', `/v1/users/${eve.id}`, { key: eve.token })).status).toBe(200);
    expect((await shop.request('POST', `/v1/users/${eve.id}/ban`, { body: { reason: 'fraud' } })).status).toBe(200);
    expect((await shop.request('GET', `/v1/users/${eve.id}`, { key: eve.token })).body).toMatchObject({ error: 'forbidden' });
    expect((await shop.request('GET', `/v1/users/${eve.id}`)).body).toMatchObject({ id: eve.id, banned: true });
  });

  it('the OpenAPI document names both ways in and the 401/403 answers', async () => {
    const doc = (await shop.request('GET', '/docs/json', { key: null })).body;
    for (const operation of [doc.paths['/v1/users/{id}'].get, doc.paths['/v1/orders/{id}'].get, doc.paths['/v1/orders'].get]) {
      expect(operation.security).toEqual([{ apiKey: [] }, { customerToken: [] }]);
      expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['200', '401', '403']));
    }
  });
});
