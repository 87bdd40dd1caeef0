/**
 * The admin API on a running server: the log (filters, pagination), subscriptions (lag, rewind),
 * dead letters (list, retry, discard), keys, and the documents (OpenAPI, AsyncAPI, catalog),
 * health and metrics.
 */
import { Parser } from '@asyncapi/parser';
import { setTimeout as sleep } from 'node:timers/promises';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failPermanently, type Subscription } from '../src/bus/index.ts';
import { startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
/** order.placed is the orders service's: published over HTTP with a key scoped to producer orders (issue 7). */
let ordersKey: string;
let flaky: Subscription;
/** How often the flaky handler saw each order. */
const seen = new Map<string, number>();
/** Orders the flaky handler refuses while this holds. */
let refuse = true;

const orderData = (orderId: string) => ({ orderId, userId: 'u-1', items: [{ productId: 'p-1', quantity: 1, unitPriceCents: 100 }], totalCents: 100, currency: 'EUR' });
const publish = async (events: { type: string; data: unknown; id?: string }[]) => {
  const response = await server.request('POST', '/v1/events', {
    key: ordersKey,
    contentType: 'application/cloudevents-batch+json',
    body: events.map((e) => ({ specversion: '1.0', id: e.id ?? uuidv7(), source: '/test', ...e })),
  });
  expect(response.status, response.text).toBe(202);
  return response.body.events as { id: string; sequence: number }[];
};
async function until<T>(probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value) || Date.now() > deadline) return value;
    await sleep(25);
  }
}
const subscription = async (name: string) => {
  const { body } = await server.request('GET', '/v1/subscriptions');
  return (body.subscriptions as { name: string; lag: number; deadLetters: number; position: number }[]).find((s) => s.name === name);
};

let published: { id: string; sequence: number }[];
beforeAll(async () => {
  server = await startTestServer();
  ordersKey = await server.producerKey('orders');
  flaky = await server.flamingo.bus.subscribe({ name: 'flaky', types: ['order.*'], retry: { maxAttempts: 1 } }, async (event) => {
    const { orderId } = event.data as { orderId: string };
    seen.set(orderId, (seen.get(orderId) ?? 0) + 1);
    if (refuse && orderId.startsWith('bad-')) throw failPermanently(`order ${orderId} is refused`);
  });
  published = await publish([
    { type: 'order.placed', data: orderData('good-1') },
    { type: 'order.placed', data: orderData('bad-1') },
    { type: 'cart.item_added', data: { cartId: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', items: [1], item: 1 } },
    { type: 'order.placed', data: orderData('bad-2') },
    { type: 'order.placed', data: orderData('good-2') },
  ]);
  await until(() => subscription('flaky'), (s) => s?.lag === 0 && s.deadLetters === 2);
});
afterAll(async () => {
  await flaky?.close();
  await server?.stop();
});

describe('GET /v1/events', () => {
  it('filters by type pattern and subject, pages with next, and reports the head', async () => {
    const orders = await server.request('GET', '/v1/events?type=order.*');
    expect(orders.body.events.map((e: { data: { orderId: string } }) => e.data.orderId)).toEqual(['good-1', 'bad-1', 'bad-2', 'good-2']);
    expect(orders.body.head).toBe(published[4].sequence);
    expect(orders.body.next).toBeNull();

    const bySubject = await server.request('GET', '/v1/events?subject=order/bad-2');
    expect(bySubject.body.events.map((e: { id: string }) => e.id)).toEqual([published[3].id]);

    const page1 = await server.request('GET', '/v1/events?limit=2');
    expect(page1.body.events).toHaveLength(2);
    expect(page1.body.next).toBe(published[1].sequence);
    const page2 = await server.request('GET', `/v1/events?limit=2&afterSequence=${page1.body.next}`);
    expect(page2.body.events.map((e: { id: string }) => e.id)).toEqual([published[2].id, published[3].id]);
    const page3 = await server.request('GET', `/v1/events?limit=2&afterSequence=${page2.body.next}`);
    expect(page3.body.events.map((e: { id: string }) => e.id)).toEqual([published[4].id]);
    expect(page3.body.next).toBeNull();
  });

  it('filters by recorded time', async () => {
    const future = await server.request('GET', `/v1/events?since=${new Date(Date.now() + 60_000).toISOString()}`);
    expect(future.body.events).toEqual([]);
    const past = await server.request('GET', `/v1/events?until=${new Date(Date.now() - 3_600_000).toISOString()}`);
    expect(past.body.events).toEqual([]);
    const now = await server.request('GET', `/v1/events?since=${new Date(Date.now() - 3_600_000).toISOString()}&type=cart.item_added`);
    expect(now.body.events).toHaveLength(1);
  });

  it('refuses bad queries with 400 naming the parameter', async () => {
    const response = await server.request('GET', '/v1/events?limit=5000');
    expect([response.status, response.body.error]).toEqual([400, 'invalid_request']);
    expect(response.body.detail).toEqual([{ path: '/query/limit', message: 'must be <= 1000' }]);
    const since = await server.request('GET', '/v1/events?since=yesterday');
    expect(since.body.detail).toEqual([{ path: '/query/since', message: 'must match format "date-time"' }]);
  });

  it('needs the admin key', async () => {
    expect((await server.request('GET', '/v1/events', { key: null })).status).toBe(401);
  });
});

describe('subscriptions and dead letters', () => {
  it('lists subscriptions with position, lag, in-flight, retrying and dead letters', async () => {
    expect(await subscription('flaky')).toEqual({
      name: 'flaky',
      types: ['order.*'],
      position: published[4].sequence,
      lag: 0,
      inFlight: 0,
      retrying: 0,
      deadLetters: 2,
      scheduled: 0,
      consumers: 1,
    });
  });

  it('lists dead letters with the error and attempts', async () => {
    const { status, body } = await server.request('GET', '/v1/subscriptions/flaky/dead-letters');
    expect(status).toBe(200);
    expect(body.deadLetters.map((d: { event: { id: string } }) => d.event.id)).toEqual([published[1].id, published[3].id]);
    expect(body.deadLetters[0]).toMatchObject({ subscription: 'flaky', attempts: 1, error: expect.stringContaining('order bad-1 is refused') });
    expect(body.next).toBeNull();
  });

  it('retries one dead letter, then all; discards one and all; 404 for what is not there', async () => {
    refuse = false;
    const one = await server.request('POST', `/v1/subscriptions/flaky/dead-letters/${published[1].id}/retry`);
    expect([one.status, one.body]).toEqual([200, { retried: 1 }]);
    await until(() => subscription('flaky'), (s) => s?.deadLetters === 1 && s.lag === 0);
    expect(seen.get('bad-1')).toBe(2);

    expect((await server.request('POST', `/v1/subscriptions/flaky/dead-letters/${published[1].id}/retry`)).status).toBe(404);
    expect((await server.request('DELETE', `/v1/subscriptions/flaky/dead-letters/${uuidv7()}`)).status).toBe(404);
    expect((await server.request('GET', '/v1/subscriptions/nosuch/dead-letters')).status).toBe(404);

    const all = await server.request('POST', '/v1/subscriptions/flaky/dead-letters/retry');
    expect(all.body).toEqual({ retried: 1 });
    await until(() => subscription('flaky'), (s) => s?.deadLetters === 0 && s.lag === 0);
    expect(seen.get('bad-2')).toBe(2);

    refuse = true;
    const [again] = await publish([{ type: 'order.placed', data: orderData('bad-3') }]);
    const [again2] = await publish([{ type: 'order.placed', data: orderData('bad-4') }]);
    await until(() => subscription('flaky'), (s) => s?.deadLetters === 2);
    const discardOne = await server.request('DELETE', `/v1/subscriptions/flaky/dead-letters/${again.id}`);
    expect(discardOne.body).toEqual({ discarded: 1 });
    const discardAll = await server.request('DELETE', '/v1/subscriptions/flaky/dead-letters');
    expect(discardAll.body).toEqual({ discarded: 1 });
    expect((await subscription('flaky'))?.deadLetters).toBe(0);
    expect(seen.get('bad-4')).toBe(1);
    expect(again2.sequence).toBeGreaterThan(again.sequence);
  });

  it('rewinds a subscription to a sequence and replays from there', async () => {
    refuse = false;
    const before = seen.get('good-2');
    const response = await server.request('POST', '/v1/subscriptions/flaky/rewind', { body: { sequence: published[4].sequence } });
    expect(response.status).toBe(200);
    expect(response.body.name).toBe('flaky');
    await until(() => Promise.resolve(seen.get('good-2')), (n) => n === (before ?? 0) + 1);
    expect(seen.get('good-2')).toBe((before ?? 0) + 1);
    await until(() => subscription('flaky'), (s) => s?.lag === 0);
  });

  it('rewinds to a time, and refuses a malformed body or an unknown subscription', async () => {
    expect((await server.request('POST', '/v1/subscriptions/flaky/rewind', { body: { time: new Date().toISOString() } })).status).toBe(200);
    expect((await server.request('POST', '/v1/subscriptions/flaky/rewind', { body: { position: 'now' } })).status).toBe(200);
    const bad = await server.request('POST', '/v1/subscriptions/flaky/rewind', { body: { sequence: 'first' } });
    expect([bad.status, bad.body.error]).toEqual([400, 'invalid_request']);
    expect((await server.request('POST', '/v1/subscriptions/nosuch/rewind', { body: { sequence: 1 } })).status).toBe(404);
  });
});

describe('keys', () => {
  it('creates (key shown once), lists without the key, revokes', async () => {
    const created = await server.request('POST', '/v1/keys', { body: { name: 'fulfillment', producer: 'fulfillment', types: ['shipment.*'] } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'fulfillment', producer: 'fulfillment', types: ['shipment.*'], key: expect.stringMatching(/^flm_/), revokedAt: null });
    const list = await server.request('GET', '/v1/keys');
    expect(list.body.keys).toContainEqual(expect.objectContaining({ id: created.body.id, prefix: created.body.prefix }));
    expect(list.text).not.toContain(created.body.key);
    expect((await server.request('GET', '/v1/keys', { key: created.body.key })).status).toBe(403);
    expect((await server.request('DELETE', `/v1/keys/${created.body.id}`)).status).toBe(204);
    expect((await server.request('DELETE', `/v1/keys/${created.body.id}`)).status).toBe(404);
    expect((await server.request('GET', '/v1/keys', { key: created.body.key })).status).toBe(401);
  });

  it('refuses malformed patterns', async () => {
    const response = await server.request('POST', '/v1/keys', { body: { types: ['*.placed'] } });
    expect([response.status, response.body.error]).toEqual([400, 'invalid_request']);
    expect(response.body.detail).toEqual([{ path: '/body/types', message: expect.stringContaining('*.placed') }]);
    expect((await server.request('POST', '/v1/keys', { body: { types: [] } })).status).toBe(400);
  });

  it('refuses a producer the catalog does not have, and patterns no key without a producer could use (issue 7)', async () => {
    const unknown = await server.request('POST', '/v1/keys', { body: { producer: 'warehouse' } });
    expect([unknown.status, unknown.body.detail[0].path]).toEqual([400, '/body/producer']);
    const owned = await server.request('POST', '/v1/keys', { body: { types: ['order.*'] } });
    expect(owned.status).toBe(400);
    expect(owned.body.detail).toEqual([{ path: '/body/types', message: expect.stringMatching(/order\.\* matches only types produced by orders/) }]);
    expect((await server.request('GET', '/v1/keys')).text).not.toContain('"warehouse"');
  });
});

describe('documents, health and metrics', () => {
  it('OpenAPI at /docs/json lists the routes', async () => {
    const { status, body } = await server.request('GET', '/docs/json', { key: null });
    expect(status).toBe(200);
    expect(body.openapi).toMatch(/^3\./);
    const routes = Object.entries(body.paths as Record<string, Record<string, unknown>>).flatMap(([p, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${p}`));
    expect(routes).toEqual(
      expect.arrayContaining([
        'POST /v1/events',
        'POST /event',
        'GET /v1/events',
        'GET /v1/subscriptions',
        'POST /v1/subscriptions/{name}/rewind',
        'GET /v1/subscriptions/{name}/dead-letters',
        'POST /v1/subscriptions/{name}/dead-letters/{eventId}/retry',
        'POST /v1/subscriptions/{name}/dead-letters/retry',
        'DELETE /v1/subscriptions/{name}/dead-letters/{eventId}',
        'DELETE /v1/subscriptions/{name}/dead-letters',
        'POST /v1/keys',
        'GET /v1/keys',
        'DELETE /v1/keys/{id}',
        'GET /v1/catalog',
        'GET /v1/asyncapi.json',
        'GET /healthz',
        'GET /readyz',
        'GET /metrics',
      ]),
    );
    expect((await server.request('GET', '/docs', { key: null })).status).toBe(200);
  });

  it('GET /v1/asyncapi.json is public and a valid AsyncAPI 3 document', async () => {
    const { status, body } = await server.request('GET', '/v1/asyncapi.json', { key: null });
    expect(status).toBe(200);
    expect(body.asyncapi).toBe('3.0.0');
    const { diagnostics } = await new Parser().parse(body);
    expect(diagnostics.filter((d) => d.severity === 0).map((d) => `${d.path.join('.')}: ${d.message}`)).toEqual([]);
  });

  it('GET /v1/catalog lists every type with its schema and aliases', async () => {
    const { body } = await server.request('GET', '/v1/catalog', { key: null });
    expect(body.types).toContainEqual(expect.objectContaining({ type: 'cart.item_added', aliases: ['item_added_to_cart'], schema: expect.any(Object) }));
  });

  it('/healthz and /readyz', async () => {
    expect((await server.request('GET', '/healthz', { key: null })).body).toEqual({ status: 'ok' });
    expect((await server.request('GET', '/readyz', { key: null })).body).toEqual({ status: 'ready', engine: 'sqlite', head: expect.any(Number) });
  });

  it('/metrics: events published by type, HTTP durations, subscription lag, handler calls by outcome', async () => {
    const { status, text } = await server.request('GET', '/metrics', { key: null });
    expect(status).toBe(200);
    // The app's bus middleware times every handler call: the flaky handler accepted some and refused two.
    expect(text).toMatch(/flamingo_handler_duration_seconds_count\{subscription="flaky",outcome="ack"\} [1-9]\d*/);
    expect(text).toMatch(/flamingo_handler_duration_seconds_count\{subscription="flaky",outcome="error"\} [2-9]\d*/);
    expect(text).toMatch(/flamingo_events_published_total\{type="order.placed"\} \d+/);
    expect(text).toMatch(/flamingo_http_request_duration_seconds_count\{method="POST",route="\/v1\/events",status="202"\} \d+/);
    expect(text).toMatch(/flamingo_subscription_lag\{subscription="flaky"\} 0/);
    expect(text).toMatch(/flamingo_subscription_dead_letters\{subscription="flaky"\} \d+/);
  });

  it('unknown routes answer 404 in the error shape', async () => {
    const { status, body } = await server.request('GET', '/v2/nothing');
    expect([status, body.error]).toEqual([404, 'not_found']);
  });
});
