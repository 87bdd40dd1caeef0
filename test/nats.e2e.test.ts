/**
 * `FLAMINGO_ENGINE=nats://…`: the same collector and admin API over NATS JetStream (the server on
 * 127.0.0.1:4222), in a stream of its own.
 */
import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.ts';

const stream = `E2E_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ FLAMINGO_ENGINE: 'nats://127.0.0.1:4222', FLAMINGO_NATS_STREAM: stream });
});
afterAll(async () => {
  await server?.stop();
  const nc = await connect({ servers: '127.0.0.1:4222' });
  const jsm = await jetstreamManager(nc);
  for (const name of [stream, `${stream}_DLQ`, `${stream}_LEASES`]) await jsm.streams.delete(name).catch(() => undefined);
  await nc.close();
});

const order = (orderId: string) => ({ orderId, userId: 'u-1', items: [{ productId: 'p-1', quantity: 1, unitPriceCents: 100 }], totalCents: 100, currency: 'EUR' });

it('collects, deduplicates and reads events on NATS JetStream', async () => {
  expect((await server.request('GET', '/readyz', { key: null })).body).toMatchObject({ status: 'ready', engine: 'nats' });
  const id = uuidv7();
  // order.placed is the orders service's: only a key scoped to producer orders publishes it (issue 7).
  const key = await server.producerKey('orders');
  const single = await server.request('POST', '/v1/events', {
    key,
    contentType: 'application/cloudevents+json',
    body: { specversion: '1.0', id, source: '/test', type: 'order.placed', data: order('n-1') },
  });
  expect(single.status).toBe(202);
  const again = await server.request('POST', '/v1/events', {
    key,
    contentType: 'application/cloudevents+json',
    body: { specversion: '1.0', id, source: '/test', type: 'order.placed', data: order('n-1') },
  });
  expect(again.body).toEqual({ id, sequence: single.body.sequence, duplicate: true });
  const batch = await server.request('POST', '/v1/events', {
    key,
    contentType: 'application/cloudevents-batch+json',
    body: [1, 2, 3].map((n) => ({ specversion: '1.0', id: `n-batch-${n}`, source: '/test', type: 'order.placed', data: order(`n-batch-${n}`) })),
  });
  expect(batch.status).toBe(202);
  const seed = await server.request('POST', '/event', {
    key: null,
    contentType: null,
    body: '{"event_id": "7d7e2f0a-1b2c-4d3e-8f40-5a6b7c8d9e0f", "stamp": "2022-07-17T10:00:00", "event": {"event_time": "2022-07-17T09:59:59", "customer_id": null, "items": [4], "event_name": "item_added_to_cart", "item": 4}}',
  });
  expect(seed.status).toBe(201);

  const { body } = await server.request('GET', '/v1/events?limit=100');
  expect(body.events.map((e: { subject: string }) => e.subject)).toEqual(['order/n-1', 'order/n-batch-1', 'order/n-batch-2', 'order/n-batch-3', undefined]);
  expect(body.events[4]).toMatchObject({ id: '7d7e2f0a-1b2c-4d3e-8f40-5a6b7c8d9e0f', type: 'cart.item_added' });
  expect(await server.eventCount()).toBe(5);
});
