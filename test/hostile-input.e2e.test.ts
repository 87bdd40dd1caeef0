/**
 * Hostile bytes at the edge (issue 7, items 2, 4, 5 and 7), fed to EVERY route of a Flamingo running
 * every service — the routes read from the server itself, so a new route cannot be forgotten — on
 * both service databases (SQLite files, PostgreSQL). Each is refused with a 400 naming the path and
 * the rule, before any handler runs, and nothing is stored: every table of every database is
 * compared before and after.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { services } from '../src/services/index.ts';
import { databaseState, settledDatabaseState, type DatabaseState } from './support/database-state.ts';
import { BODY_METHODS, routesOf, type ConcreteRoute } from './support/routes.ts';
import { startTestServer, type RequestOptions, type TestResponse, type TestServer } from './support/server.ts';
import { createRunDatabase, dropRunDatabase } from './support/stacks.ts';

const NAMES = ['__proto__', 'constructor', 'prototype'] as const;
const EVENT_ID = '5f0c9a35-7c5e-4a8b-9d6f-1a2b3c4d5e6f';

describe.each(['sqlite', 'postgres'] as const)('hostile input on every route (services on %s)', (dialect) => {
  let server: TestServer;
  let databaseUrl: string | undefined;
  let stored: DatabaseState;
  let routes: ConcreteRoute[];
  let customerToken: string;

  beforeAll(async () => {
    databaseUrl = dialect === 'postgres' ? await createRunDatabase('flamingo_hostile') : undefined;
    server = await startTestServer(
      {
        ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
        // The rate limits have their own test; here every request must reach the checks.
        FLAMINGO_RATE_LIMIT_KEYLESS: '0',
        FLAMINGO_RATE_LIMIT_LOGIN: '0',
      },
      { registry: services },
    );
    routes = routesOf(server.flamingo.http);
    // Something in every kind of store, so "unchanged" is measured against real content.
    expect((await server.request('POST', '/v1/products', { body: { sku: 'MUG-1', name: 'Mug', priceCents: 1250, currency: 'EUR', onHand: 5 } })).status).toBe(201);
    expect((await server.request('POST', '/v1/users', { key: null, body: { email: 'ada@example.com', name: 'Ada', password: 'a long enough password' } })).status).toBe(201);
    const login = await server.request('POST', '/v1/auth/login', { key: null, body: { email: 'ada@example.com', password: 'a long enough password' } });
    expect(login.status).toBe(200);
    customerToken = login.body.token;
    expect((await server.request('POST', '/event', { key: null, body: { event_id: EVENT_ID, event: { event_name: 'item_added_to_cart', event_time: '2022-07-17T09:59:59', items: [1], item: 1 } } })).status).toBe(201);
    stored = await settledDatabaseState(server.dataDir, databaseUrl, { bus: server.flamingo.bus });
  });
  afterAll(async () => {
    await server?.stop();
    if (databaseUrl) await dropRunDatabase(databaseUrl);
  });

  /** Sends one request per route; each must be refused with `status`/`error` naming `path(route)`; then nothing may have changed. */
  async function everyRouteRefuses(
    label: string,
    chosen: readonly ConcreteRoute[],
    send: (route: ConcreteRoute) => Promise<TestResponse>,
    expected: { status: number; error: string; path: (route: ConcreteRoute) => string },
  ) {
    expect(chosen.length, `routes for ${label}`).toBeGreaterThan(0);
    const wrong: string[] = [];
    for (const route of chosen) {
      const response = await send(route);
      const ok =
        response.status === expected.status &&
        response.body?.error === expected.error &&
        typeof response.body?.message === 'string' &&
        Array.isArray(response.body?.detail) &&
        response.body.detail.some((d: { path: string; message: string }) => d.path === expected.path(route) && typeof d.message === 'string');
      if (!ok) wrong.push(`${route.method} ${route.pattern} (${label}): ${response.status} ${response.text.slice(0, 300)}`);
    }
    expect(wrong).toEqual([]);
    expect(await databaseState(server.dataDir, databaseUrl)).toEqual(stored);
  }

  const bodyRoutes = () => routes.filter((r) => BODY_METHODS.has(r.method));
  /** The request with credentials the route accepts (a customer's token where only customers may call it, else the admin key), so the checks under test are reached. */
  const send = (route: ConcreteRoute, options: RequestOptions = {}, path = route.path) =>
    server.request(route.method, path, { ...(route.auth === 'customer' ? { key: customerToken } : {}), ...options });

  /** Bytes on a raw socket (for what fetch refuses to send); the status line and the JSON body answered. */
  function rawRequest(head: string, body = ''): Promise<{ status: number; body: unknown }> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(server.flamingo.port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (chunk) => chunks.push(chunk));
      socket.on('error', reject);
      socket.on('close', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const [headers, payload = ''] = text.split('\r\n\r\n');
        resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(headers)?.[1]), body: payload ? JSON.parse(payload) : undefined });
      });
      // Written, not ended: a half-closed socket may be dropped before a slower (token-checking) route answers; `Connection: close` ends it.
      socket.write(Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(body, 'utf8')]));
    });
  }

  describe('item 2: prototype field names', () => {
    it.each(NAMES)('refuses %s as a body field, at the top and nested, on every route that takes a body', async (name) => {
      await everyRouteRefuses(`body ${name}`, bodyRoutes(), (route) => send(route, { body: `{"ok":1,"${name}":{"items":[1,2],"item":2}}` }), {
        status: 400,
        error: 'forbidden_name',
        path: () => `/${name}`,
      });
      await everyRouteRefuses(`nested body ${name}`, bodyRoutes(), (route) => send(route, { body: `{"event":{"items":[{"${name}":1}]}}` }), {
        status: 400,
        error: 'forbidden_name',
        path: () => `/event/items/0/${name}`,
      });
    });

    it.each(NAMES)('refuses a ce-%s header, and the name as a query parameter, on every route', async (name) => {
      await everyRouteRefuses(`ce-${name} header`, routes, (route) => send(route, { headers: { [`ce-${name}`]: 'x' }, ...(BODY_METHODS.has(route.method) ? { body: '{}' } : {}) }), {
        status: 400,
        error: 'forbidden_name',
        path: () => `/headers/ce-${name}`,
      });
      await everyRouteRefuses(`?${name}=`, routes, (route) => send(route, {}, `${route.path}?${name}=x`), {
        status: 400,
        error: 'forbidden_name',
        path: () => `/query/${name}`,
      });
    });

    it('refuses the issue’s keyless schema bypass: POST /event with "__proto__" holding the data', async () => {
      const body = `{"event_id":"${EVENT_ID.replace('5f0c', '6f0c')}","event":{"event_name":"cart.item_added","event_time":"2022-07-17T09:59:59","__proto__":{"items":[1,2],"item":2}}}`;
      const response = await server.request('POST', '/event', { key: null, body, contentType: null });
      expect(response.status).toBe(400);
      expect(response.body).toEqual({ error: 'forbidden_name', message: expect.any(String), detail: [{ path: '/event/__proto__', message: expect.stringMatching(/prototype pollution/) }] });
      expect(await databaseState(server.dataDir, databaseUrl)).toEqual(stored);
    });
  });

  describe('item 4: nesting depth', () => {
    const nested = (levels: number) => `${'['.repeat(levels)}1${']'.repeat(levels)}`;

    it('refuses a body nested more than 32 levels on every route that takes one, naming where the limit was passed', async () => {
      await everyRouteRefuses('33 levels', bodyRoutes(), (route) => send(route, { body: `{"a":${nested(32)}}` }), {
        status: 400,
        error: 'too_deep',
        path: () => `/a${'/0'.repeat(31)}`,
      });
    });

    it('refuses the issue’s crashes: 4 100 levels through the keyless /event, and a batch over 64 KB with deep elements (once 500)', async () => {
      const deep = await server.request('POST', '/event', {
        key: null,
        contentType: null,
        body: `{"event_id":"${EVENT_ID.replace('5f0c', '7f0c')}","event":{"event_name":"item_added_to_cart","event_time":"2022-07-17T09:59:59","items":[1],"item":1,"extra":${nested(4_100)}}}`,
      });
      expect({ status: deep.status, error: deep.body?.error, path: deep.body?.detail?.[0]?.path }).toEqual({ status: 400, error: 'too_deep', path: `/event/extra${'/0'.repeat(30)}` });
      const element = (i: number) => `{"specversion":"1.0","source":"/test","type":"cart.item_added","data":{"items":[1],"item":1,"deep":${nested(3_000)},"pad":"${'x'.repeat(100)}"},"id":"e-${i}"}`;
      const batch = `[${Array.from({ length: 12 }, (_, i) => element(i)).join(',')}]`;
      expect(batch.length).toBeGreaterThan(64 * 1024);
      const response = await server.request('POST', '/v1/events', { body: batch, contentType: 'application/cloudevents-batch+json' });
      expect({ status: response.status, error: response.body?.error }).toEqual({ status: 400, error: 'too_deep' });
      expect(await databaseState(server.dataDir, databaseUrl)).toEqual(stored);
    });
  });

  describe('item 5: NUL characters', () => {
    it('refuses a %00 in the route parameters of every route that has them, naming the parameter', async () => {
      const withParams = routesOf(server.flamingo.http, 'a%00b').filter((r) => r.params.length > 0);
      await everyRouteRefuses('%00 in params', withParams, (route) => send(route, BODY_METHODS.has(route.method) ? { body: '{}' } : {}), {
        status: 400,
        error: 'nul_character',
        path: (route) => `/params/${route.params[0]}`,
      });
    });

    it('refuses a %00 in the query string of every route, naming the parameter', async () => {
      await everyRouteRefuses('%00 in query', routes, (route) => send(route, BODY_METHODS.has(route.method) ? { body: '{}' } : {}, `${route.path}?userId=a%00b`), {
        status: 400,
        error: 'nul_character',
        path: () => '/query/userId',
      });
    });

    it('refuses a NUL in any string or field name of the body of every route that takes one', async () => {
      await everyRouteRefuses('NUL in a body string', bodyRoutes(), (route) => send(route, { body: '{"email":"a\\u0000@example.com","items":[{"productId":"p\\u0000"}]}' }), {
        status: 400,
        error: 'nul_character',
        path: () => '/items/0/productId',
      });
      await everyRouteRefuses('NUL in a body field name', bodyRoutes(), (route) => send(route, { body: '{"na\\u0000me":"x"}' }), {
        status: 400,
        error: 'nul_character',
        path: () => '/na\u0000me',
      });
    });

    it('refuses the reported requests (once 500 on PostgreSQL): login, registration, orders, carts, products, reviews, shipments, payments', async () => {
      const nul = 'a\u0000b';
      const reported: [string, string, unknown, string][] = [
        ['POST', '/v1/auth/login', { email: `ada${nul}@example.com`, password: 'a long enough password' }, '/email'],
        ['POST', '/v1/users', { email: 'eve@example.com', name: nul, password: 'a long enough password' }, '/name'],
        ['POST', '/v1/orders', { userId: nul, items: [{ productId: 'p', quantity: 1 }], paymentToken: 'tok_ok' }, '/userId'],
        ['POST', '/v1/carts', { userId: nul }, '/userId'],
        ['POST', '/v1/products', { sku: nul, name: 'Mug', priceCents: 1, currency: 'EUR' }, '/sku'],
        ['GET', '/v1/products/a%00b', undefined, '/params/id'],
        ['GET', '/v1/products/a%00b/reviews', undefined, '/params/id'],
        ['GET', '/v1/carts/a%00b', undefined, '/params/id'],
        ['GET', '/v1/orders?userId=a%00b', undefined, '/query/userId'],
        ['GET', '/v1/shipments/a%00b', undefined, '/params/id'],
        ['GET', '/v1/payments/a%00b', undefined, '/params/orderId'],
      ];
      for (const [method, route, body, path] of reported) {
        const response = await server.request(method, route, body === undefined ? {} : { body });
        expect({ route, status: response.status, error: response.body?.error, detail: response.body?.detail }).toEqual({
          route,
          status: 400,
          error: 'nul_character',
          detail: [{ path, message: 'must not contain the NUL character (U+0000)' }],
        });
      }
      expect(await databaseState(server.dataDir, databaseUrl)).toEqual(stored);
    });

    it('refuses a raw NUL in the URL or a header with 400 in the error shape (Node’s parser)', async () => {
      const url = await rawRequest('GET /v1/products/a\0b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      expect(url).toEqual({ status: 400, body: { error: 'bad_request', message: expect.stringMatching(/not valid HTTP/) } });
      const header = await rawRequest('GET /v1/products HTTP/1.1\r\nHost: x\r\nX-Note: a\0b\r\nConnection: close\r\n\r\n');
      expect(header).toEqual({ status: 400, body: { error: 'bad_request', message: expect.stringMatching(/not valid HTTP/) } });
    });
  });

  describe('item 7: invalid UTF-8', () => {
    const invalid = Buffer.concat([Buffer.from('{"specversion":"1.0","id":"utf8-1","source":"/test","type":"cart.item_added","data":{"items":[1],"item":1,"note":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}}')]);

    it('refuses a body that is not UTF-8 on every route that takes one, naming the body', async () => {
      await everyRouteRefuses('invalid UTF-8 body', bodyRoutes(), (route) => send(route, { body: invalid }), { status: 400, error: 'invalid_utf8', path: () => '/' });
    });

    it('refuses a header that is not UTF-8 on every route, naming the header', async () => {
      for (const route of [...routes.filter((r) => r.method === 'GET').slice(0, 3), ...bodyRoutes()]) {
        const body = BODY_METHODS.has(route.method) ? '{}' : '';
        const head = `${route.method} ${route.path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${route.auth === 'customer' ? customerToken : server.adminKey}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nce-source: caf\xe9\r\nConnection: close\r\n\r\n`;
        expect({ route: route.pattern, ...(await rawRequest(head, body)) }).toEqual({
          route: route.pattern,
          status: 400,
          body: { error: 'invalid_utf8', message: 'the ce-source header is not valid UTF-8', detail: [{ path: '/headers/ce-source', message: 'must be encoded in UTF-8' }] },
        });
      }
      expect(await databaseState(server.dataDir, databaseUrl)).toEqual(stored);
    });

    it('refuses the issue’s binary CloudEvent with a percent-encoded invalid UTF-8 attribute (once stored with U+FFFD)', async () => {
      const response = await server.request('POST', '/v1/events', {
        body: { items: [1], item: 1 },
        headers: { 'ce-specversion': '1.0', 'ce-id': 'latin1-1', 'ce-source': '/test', 'ce-type': 'cart.item_added', 'ce-subject': 'caf%E9' },
      });
      expect({ status: response.status, error: response.body?.error, detail: response.body?.detail }).toEqual({
        status: 400,
        error: 'invalid_utf8',
        detail: [{ path: '/headers/ce-subject', message: 'must be percent-encoded UTF-8' }],
      });
      expect(await databaseState(server.dataDir, databaseUrl)).toEqual(stored);
    });
  });
});
