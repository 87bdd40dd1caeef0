/**
 * The collector's happy paths: structured, binary and batch CloudEvents, aliases, idempotent ids,
 * trace context, and the seed's `POST /event` exactly as its Python producer sends it.
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
/** order.placed is the orders service's: only a key scoped to producer orders publishes it over HTTP. */
let ordersKey: string;
beforeAll(async () => {
  server = await startTestServer();
  ordersKey = await server.producerKey('orders');
});
afterAll(() => server?.stop());

const orderData = (orderId: string) => ({
  orderId,
  userId: 'u-1',
  items: [{ productId: 'p-1', quantity: 2, unitPriceCents: 500 }],
  totalCents: 1000,
  currency: 'EUR',
});
const stored = async (id: string) => {
  const { body } = await server.request('GET', `/v1/events?limit=1000`);
  return (body.events as { id: string; type: string }[]).filter((e) => e.id === id);
};

describe('POST /v1/events', () => {
  it('structured: 202 with id and sequence once durable; the event is in the log with derived attributes', async () => {
    const id = uuidv7();
    const response = await server.request('POST', '/v1/events', {
      key: ordersKey,
      contentType: 'application/cloudevents+json',
      body: { specversion: '1.0', id, source: '/webshop', type: 'order.placed', time: '2024-05-01T12:00:00Z', correlationid: 'checkout-1', data: orderData('o-structured') },
    });
    expect(response.status).toBe(202);
    expect(response.body).toEqual({ id, sequence: expect.any(Number), duplicate: false });
    const [event] = await stored(id);
    expect(event).toMatchObject({
      specversion: '1.0',
      id,
      source: '/webshop',
      type: 'order.placed',
      subject: 'order/o-structured',
      partitionkey: 'o-structured',
      time: '2024-05-01T12:00:00Z',
      datacontenttype: 'application/json',
      dataschema: 'flamingo:order.placed/v1',
      correlationid: 'checkout-1',
      sequence: response.body.sequence,
      recordedtime: expect.any(String),
      data: orderData('o-structured'),
    });
  });

  it('binary: attributes from ce-* headers, the JSON body as data, traceparent from its header', async () => {
    const id = uuidv7();
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const response = await server.request('POST', '/v1/events', {
      key: ordersKey,
      contentType: 'application/json',
      headers: { 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/payments', 'ce-type': 'order.placed', 'ce-subject': 'order/o-binary', traceparent },
      body: orderData('o-binary'),
    });
    expect(response.status).toBe(202);
    expect(await stored(id)).toEqual([expect.objectContaining({ id, source: '/payments', subject: 'order/o-binary', traceparent, data: orderData('o-binary') })]);
  });

  it('extension attributes (a shop\'s own, Dapr\'s, Knative\'s) are kept and shown in reads, structured, binary and in a batch', async () => {
    const [structuredId, binaryId, batchId] = [uuidv7(), uuidv7(), uuidv7()];
    const extensions = { shopregion: 'eu', topic: 'orders', pubsubname: 'pubsub', knativearrivaltime: '2024-05-01T12:00:00.5Z', retries: 2, vip: true };
    const base = { specversion: '1.0', source: '/dapr', type: 'order.placed', data: orderData('o-ext') };
    const structured = await server.request('POST', '/v1/events', { key: ordersKey, contentType: 'application/cloudevents+json', body: { ...base, id: structuredId, ...extensions } });
    expect(structured.status, structured.text).toBe(202);
    const binary = await server.request('POST', '/v1/events', {
      key: ordersKey,
      contentType: 'application/json',
      headers: { 'ce-specversion': '1.0', 'ce-id': binaryId, 'ce-source': '/dapr', 'ce-type': 'order.placed', 'ce-shopregion': 'eu', 'ce-pubsubname': 'pubsub' },
      body: orderData('o-ext'),
    });
    expect(binary.status, binary.text).toBe(202);
    const batch = await server.request('POST', '/v1/events', { key: ordersKey, contentType: 'application/cloudevents-batch+json', body: [{ ...base, id: batchId, topic: 'orders' }] });
    expect(batch.status, batch.text).toBe(202);
    expect(await stored(structuredId)).toEqual([expect.objectContaining(extensions)]);
    expect(await stored(binaryId)).toEqual([expect.objectContaining({ shopregion: 'eu', pubsubname: 'pubsub' })]);
    expect(await stored(batchId)).toEqual([expect.objectContaining({ topic: 'orders' })]);
  });

  it('binary: every ce-* value is percent-decoded as UTF-8, raw UTF-8 too (CloudEvents HTTP binding 3.1.3.2)', async () => {
    const [escaped, raw] = [uuidv7(), uuidv7()];
    const headers = (id: string, subject: string) => ({ 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/payments', 'ce-type': 'order.placed', 'ce-subject': subject });
    const post = (id: string, subject: string) => server.request('POST', '/v1/events', { key: ordersKey, contentType: 'application/json', headers: headers(id, subject), body: orderData('o-pct') });
    expect((await post(escaped, '100% a%20b %E2%9C%93')).status).toBe(202);
    expect((await post(raw, Buffer.from('Grüße ✓', 'utf8').toString('latin1'))).status).toBe(202);
    expect(await stored(escaped)).toEqual([expect.objectContaining({ subject: '100% a b ✓' })]);
    expect(await stored(raw)).toEqual([expect.objectContaining({ subject: 'Grüße ✓' })]);
  });

  it('batch: all stored, in order, with consecutive sequences', async () => {
    const ids = [uuidv7(), uuidv7(), uuidv7()];
    const response = await server.request('POST', '/v1/events', {
      key: ordersKey,
      contentType: 'application/cloudevents-batch+json',
      body: ids.map((id, i) => ({ specversion: '1.0', id, source: '/webshop', type: 'order.placed', data: orderData(`o-batch-${i}`) })),
    });
    expect(response.status).toBe(202);
    expect(response.body.events.map((e: { id: string }) => e.id)).toEqual(ids);
    const sequences = response.body.events.map((e: { sequence: number }) => e.sequence);
    expect(sequences).toEqual([sequences[0], sequences[0] + 1, sequences[0] + 2]);
  });

  it('an alias is stored as its catalog type', async () => {
    const id = uuidv7();
    const response = await server.request('POST', '/v1/events', {
      contentType: 'application/cloudevents+json',
      body: { specversion: '1.0', id, source: '/webshop', type: 'item_added_to_cart', data: { items: [1, 2], item: 2 } },
    });
    expect(response.status).toBe(202);
    expect((await stored(id))[0].type).toBe('cart.item_added');
  });

  it('publishing an id again answers 202 with the first sequence and stores nothing new', async () => {
    const id = uuidv7();
    const event = { specversion: '1.0', id, source: '/webshop', type: 'order.placed', data: orderData('o-dup') };
    const first = await server.request('POST', '/v1/events', { key: ordersKey, contentType: 'application/cloudevents+json', body: event });
    const before = await server.eventCount();
    const again = await server.request('POST', '/v1/events', { key: ordersKey, contentType: 'application/cloudevents+json', body: event });
    expect(again.status).toBe(202);
    expect(again.body).toEqual({ id, sequence: first.body.sequence, duplicate: true });
    const inBatch = await server.request('POST', '/v1/events', { key: ordersKey, contentType: 'application/cloudevents-batch+json', body: [event] });
    expect(inBatch.body.events).toEqual([{ id, sequence: first.body.sequence, duplicate: true }]);
    expect(await server.eventCount()).toBe(before);
    expect(await stored(id)).toHaveLength(1);
  });

  it('a producer key publishes the types it is scoped to', async () => {
    const { key } = (await server.request('POST', '/v1/keys', { body: { name: 'orders', producer: 'orders', types: ['order.*'] } })).body;
    const response = await server.request('POST', '/v1/events', {
      key,
      contentType: 'application/cloudevents+json',
      body: { specversion: '1.0', id: 'o-key-1', source: '/orders', type: 'order.placed', data: orderData('o-key') },
    });
    expect(response.status).toBe(202);
    expect(response.body.id).toBe('o-key-1');
  });
});

describe('the event size limit measures an event as stored on every endpoint (compact JSON, UTF-8)', () => {
  /** Python's json.dumps: non-ASCII as \\uXXXX (6 bytes on the wire for 2 stored). */
  const asPythonWrites = (value: unknown) => JSON.stringify(value).replace(/é/g, '\\u00e9');
  /** 32 000 bytes stored, 96 000 on the wire. */
  const wide = { note1: 'é'.repeat(4000), note2: 'é'.repeat(4000), note3: 'é'.repeat(4000), note4: 'é'.repeat(4000) };

  it('an event within 64 KiB as stored but over it as sent is accepted alone, in a batch and through /event', async () => {
    const [single, inBatch] = [uuidv7(), uuidv7()];
    const event = (id: string) => ({ specversion: '1.0', id, source: '/python', type: 'order.placed', data: orderData('o-wide'), ...wide });
    const text = asPythonWrites(event(single));
    expect(Buffer.byteLength(text)).toBeGreaterThan(64 * 1024);
    const alone = await server.request('POST', '/v1/events', { key: ordersKey, contentType: 'application/cloudevents+json', body: text });
    expect(alone.status, alone.text).toBe(202);
    const batch = await server.request('POST', '/v1/events', { key: ordersKey, contentType: 'application/cloudevents-batch+json', body: asPythonWrites([event(inBatch)]) });
    expect(batch.status, batch.text).toBe(202);
    expect(await stored(single)).toEqual([expect.objectContaining(wide)]);
    // The seed's envelope has no room for text: json.dumps(indent=…) padding stands in for the escapes.
    const seedId = uuidv7();
    const seed = `{"event_id": "${seedId}",${' '.repeat(70_000)}"event": {"event_time": "2022-07-17T09:59:59", "items": [1], "event_name": "item_added_to_cart", "item": 1}}`;
    const viaSeed = await server.request('POST', '/event', { body: seed, contentType: 'application/json', key: null });
    expect(viaSeed.status, viaSeed.text).toBe(201);
  });
});

describe('POST /event (the seed envelope)', () => {
  /** Exactly what pydantic v1 `EventEnvelope(...).json()` writes (json.dumps separators, naive datetimes). */
  const PYDANTIC_JSON =
    '{"event_id": "5f0c9a35-7c5e-4a8b-9d6f-1a2b3c4d5e6f", "stamp": "2022-07-17T10:00:00.123456", "event": {"event_time": "2022-07-17T09:59:59.123456", "customer_id": "d9b2d63d-a233-4123-847a-3b7a5b4b2c1e", "items": [1, 2, 3], "event_name": "item_added_to_cart", "item": 3}}';

  it('accepts the exact bytes without Content-Type and without a key: 201 {event_id, status}; stored as cart.item_added', async () => {
    const response = await server.request('POST', '/event', { body: PYDANTIC_JSON, contentType: null, key: null });
    expect(response.status).toBe(201);
    expect(response.body).toEqual({ event_id: '5f0c9a35-7c5e-4a8b-9d6f-1a2b3c4d5e6f', status: 'ok' });
    expect(await stored('5f0c9a35-7c5e-4a8b-9d6f-1a2b3c4d5e6f')).toEqual([
      expect.objectContaining({
        type: 'cart.item_added',
        source: '/seed',
        time: '2022-07-17T09:59:59.123456Z',
        subject: 'cart/d9b2d63d-a233-4123-847a-3b7a5b4b2c1e',
        data: { customer_id: 'd9b2d63d-a233-4123-847a-3b7a5b4b2c1e', items: [1, 2, 3], item: 3 },
      }),
    ]);
  });

  it('accepts it with Content-Type: application/json too, and again idempotently', async () => {
    const response = await server.request('POST', '/event', { body: PYDANTIC_JSON, contentType: 'application/json', key: null });
    expect(response.status).toBe(201);
    expect(await stored('5f0c9a35-7c5e-4a8b-9d6f-1a2b3c4d5e6f')).toHaveLength(1);
  });

  const python = spawnSync('python3', ['-c', 'import requests, pydantic'], { stdio: 'ignore' });
  it.skipIf(python.status !== 0)('the seed\'s Python producer (pydantic + requests) works unchanged', async () => {
    const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/seed_producer.py');
    const eventId = '0b6f3c52-8a1e-4d7b-9c2f-6e5d4c3b2a10';
    // Asynchronously: the server answering runs in this process.
    const { stdout } = await promisify(execFile)('python3', [script, `${server.url}/event`, eventId, '-', '7'], { encoding: 'utf8' });
    const output = stdout.trim().split('\n');
    expect(output[0]).toBe('201');
    expect(JSON.parse(output[1])).toEqual({ event_id: eventId, status: 'ok' });
    expect(await stored(eventId)).toEqual([expect.objectContaining({ type: 'cart.item_added', data: { customer_id: null, items: [1, 2, 7], item: 7 } })]);
  });
});
