/**
 * Issue 7 item 3 on the embedded stack: a banned customer's session token is refused by every
 * customer route — orders, carts, shipments, reviews, their account, and any route added later
 * (they are enumerated from the OpenAPI document) — within 1 s of the ban; lifting the ban
 * restores it within 1 s too. The scale-out stack: test/scale-out-revocation.e2e.test.ts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { services } from '../src/services/index.ts';
import { callRoute, documentedRoutes, refusedAsBanned, takesCustomerToken, type DocumentedRoute, type RouteAnswer } from './support/routes.ts';
import { startTestServer, type TestServer } from './support/server.ts';

let shop: TestServer;
let routes: DocumentedRoute[];
let userId: string;
let token: string;

beforeAll(async () => {
  shop = await startTestServer({}, { registry: services });
  routes = (await documentedRoutes(shop.url)).filter(takesCustomerToken);
  const created = await shop.request('POST', '/v1/users', { key: null, body: { email: 'mallory@example.com', name: 'Mallory', password: 'a good password' } });
  userId = created.body.id;
  token = (await shop.request('POST', '/v1/auth/login', { key: null, body: { email: 'mallory@example.com', password: 'a good password' } })).body.token;
});
afterAll(() => shop?.stop());

/** Calls every customer route until `done` holds for all of them; the answers and when they all did. */
async function everyRoute(done: (answer: RouteAnswer) => boolean, timeoutMs = 3_000): Promise<{ answers: RouteAnswer[]; at: number }> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const answers = await Promise.all(routes.map((route) => callRoute(shop.url, route, token)));
    if (answers.every(done) || Date.now() > until) return { answers, at: Date.now() };
    await sleep(20);
  }
}

describe('a banned customer’s token (issue 7 item 3)', () => {
  it('covers the customer routes of every service', () => {
    expect(routes.map((r) => `${r.method} ${r.path}`)).toEqual(
      expect.arrayContaining([
        'GET /v1/users/me',
        'GET /v1/users/{id}',
        'POST /v1/orders',
        'GET /v1/orders',
        'GET /v1/orders/{id}',
        'POST /v1/carts',
        'GET /v1/carts/{id}',
        'POST /v1/carts/{id}/items',
        'POST /v1/carts/{id}/checkout',
        'GET /v1/shipments',
        'GET /v1/shipments/{id}',
        'POST /v1/products/{id}/reviews',
      ]),
    );
  });

  it('is refused by every customer route within 1 s of the ban, and accepted again within 1 s of the unban', async () => {
    const before = await everyRoute((answer) => !refusedAsBanned(answer), 0);
    expect(before.answers.filter(refusedAsBanned)).toEqual([]);

    expect((await shop.request('POST', `/v1/users/${userId}/ban`, { body: { reason: 'fraud' } })).status).toBe(200);
    const bannedAt = Date.now();
    const banned = await everyRoute(refusedAsBanned);
    expect(banned.answers.filter((answer) => !refusedAsBanned(answer))).toEqual([]);
    expect(banned.at - bannedAt).toBeLessThan(1_000);

    expect((await shop.request('POST', `/v1/users/${userId}/unban`)).status).toBe(200);
    const unbannedAt = Date.now();
    const restored = await everyRoute((answer) => !refusedAsBanned(answer));
    expect(restored.answers.filter(refusedAsBanned)).toEqual([]);
    expect(restored.at - unbannedAt).toBeLessThan(1_000);
    expect((await shop.request('GET', '/v1/users/me', { key: token })).status).toBe(200);
    console.log(`revocation (embedded): every customer route refused ${banned.at - bannedAt} ms after the ban, accepted ${restored.at - unbannedAt} ms after the unban`);
  });
});
