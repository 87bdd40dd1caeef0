/**
 * Every bad input to the collector: the status, the error naming the field and the rule, and
 * nothing stored (the log's size is the same after each refusal).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type RequestOptions, type TestServer } from './support/server.ts';

let server: TestServer;
/** A key of the orders service: order.placed is its (issue 7), so its data is checked after the key. */
let ordersKey: string;
let cartOnlyKey: string;
let revokedKey: string;
let stored: number;

let ids = 0;
/** Every event its own id (CloudEvents requires one), so no refusal is about a repeated identity. */
const nextId = () => `bad-input-${++ids}`;
const placed = (overrides: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  id: nextId(),
  type: 'order.placed',
  source: '/webshop',
  data: { orderId: 'o-1', userId: 'u-1', items: [{ productId: 'p-1', quantity: 2, unitPriceCents: 500 }], totalCents: 1000, currency: 'EUR' },
  ...overrides,
});
const cartAdded = (overrides: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  id: nextId(),
  source: '/webshop',
  type: 'cart.item_added',
  data: { items: [1, 2], item: 2 },
  ...overrides,
});
const seedEnvelope = (event: Record<string, unknown>) => ({
  event_id: '5f0c9a35-7c5e-4a8b-9d6f-1a2b3c4d5e6f',
  stamp: '2022-07-17T10:00:00.123456',
  event: { event_time: '2022-07-17T09:59:59.123456', customer_id: null, items: [1], event_name: 'item_added_to_cart', item: 1, ...event },
});

const STRUCTURED = 'application/cloudevents+json';
const BATCH = 'application/cloudevents-batch+json';

beforeAll(async () => {
  server = await startTestServer();
  ordersKey = await server.producerKey('orders');
  cartOnlyKey = (await server.request('POST', '/v1/keys', { body: { name: 'webshop', types: ['cart.*'] } })).body.key;
  const revoked = (await server.request('POST', '/v1/keys', { body: { name: 'old', producer: 'orders' } })).body;
  await server.request('DELETE', `/v1/keys/${revoked.id}`);
  revokedKey = revoked.key;
  // One good event so that "nothing stored" is measured against a non-empty log.
  expect((await server.request('POST', '/v1/events', { key: ordersKey, body: placed(), contentType: STRUCTURED })).status).toBe(202);
  stored = await server.eventCount();
  expect(stored).toBe(1);
});
afterAll(() => server?.stop());

/** Posts (with the orders key unless `key` is given), checks status and error code, that nothing was stored, and returns the body. */
async function refused(route: string, options: RequestOptions, status: number, error: string) {
  const response = await server.request('POST', route, { ...options, key: options.key === undefined ? ordersKey : options.key });
  expect({ status: response.status, error: response.body?.error }, response.text).toEqual({ status, error });
  expect(typeof response.body.message).toBe('string');
  expect(await server.eventCount()).toBe(stored);
  return response.body as { error: string; message: string; detail?: { path: string; message: string }[] };
}

describe('POST /v1/events refuses bad input and stores nothing', () => {
  describe('400 malformed JSON', () => {
    it.each([
      ['structured', STRUCTURED],
      ['batch', BATCH],
      ['binary', 'application/json'],
    ])('%s', async (_mode, contentType) => {
      const body = await refused('/v1/events', { body: '{"specversion": "1.0", "type": ', contentType, headers: { 'ce-specversion': '1.0', 'ce-type': 'order.placed' } }, 400, 'malformed_json');
      expect(body.message).toMatch(/not valid JSON/);
    });

    it('an empty body', async () => {
      const body = await refused('/v1/events', { body: '', contentType: STRUCTURED }, 400, 'malformed_json');
      expect(body.message).toMatch(/empty/);
    });
  });

  describe('422 schema violations name each path and rule', () => {
    it('data breaking its schema', async () => {
      const bad = placed({ data: { ...placed().data, items: [{ productId: 'p-1', quantity: 0, unitPriceCents: 500 }], currency: 'euro' } });
      const body = await refused('/v1/events', { body: bad, contentType: STRUCTURED }, 422, 'invalid_event');
      expect(body.detail).toEqual(
        expect.arrayContaining([
          { path: '/data/items/0/quantity', message: expect.stringMatching(/greater or equal to 1/) },
          { path: '/data/currency', message: expect.stringMatching(/match '\^\[A-Z\]\{3\}\$'/) },
        ]),
      );
    });

    it('a missing required field', async () => {
      const { orderId: _orderId, ...data } = placed().data;
      const body = await refused('/v1/events', { body: placed({ data }), contentType: STRUCTURED }, 422, 'invalid_event');
      expect(body.detail).toContainEqual({ path: '/data/orderId', message: expect.stringMatching(/[Rr]equired/) });
    });

    it('envelope attributes: specversion, time, traceparent, attributes the bus assigns, unknown ones', async () => {
      const bad = placed({ specversion: '0.3', time: '17/07/2022', traceparent: 'nope', sequence: 7, recordedtime: '2022-01-01T00:00:00Z', Colour: 'pink' });
      const body = await refused('/v1/events', { body: bad, contentType: STRUCTURED }, 422, 'invalid_event');
      expect(body.detail).toEqual(
        expect.arrayContaining([
          { path: '/specversion', message: 'must be "1.0"' },
          { path: '/time', message: expect.stringMatching(/RFC 3339/) },
          { path: '/traceparent', message: expect.stringMatching(/W3C traceparent/) },
          { path: '/sequence', message: expect.stringMatching(/assigned by the bus/) },
          { path: '/recordedtime', message: expect.stringMatching(/assigned by the bus/) },
          { path: '/Colour', message: expect.stringMatching(/lower-case letters a–z and digits 0–9/) },
        ]),
      );
    });

    it('an impossible date or a time without offset in time or ce-time, the same rule as on /event (one reading of time)', async () => {
      for (const time of ['2024-02-30T12:00:00Z', '2024-05-01T12:00:00']) {
        const structured = await refused('/v1/events', { body: placed({ time }), contentType: STRUCTURED }, 422, 'invalid_event');
        expect(structured.detail).toEqual([{ path: '/time', message: expect.stringMatching(/RFC 3339 timestamp with an offset, on a real calendar date/) }]);
        const batch = await refused('/v1/events', { body: [placed(), placed({ time })], contentType: BATCH }, 422, 'invalid_event');
        expect(batch.detail).toEqual([{ path: '/1/time', message: expect.stringMatching(/real calendar date/) }]);
        const headers = { 'ce-specversion': '1.0', 'ce-id': nextId(), 'ce-type': 'order.placed', 'ce-source': '/webshop', 'ce-time': time };
        const binary = await refused('/v1/events', { body: placed().data, contentType: 'application/json', headers }, 422, 'invalid_event');
        expect(binary.detail).toEqual([{ path: '/time', message: expect.stringMatching(/real calendar date/) }]);
      }
      const seed = await refused('/event', { body: seedEnvelope({ event_time: '2024-02-30T12:00:00' }), key: null }, 400, 'invalid_envelope');
      expect(seed.detail).toEqual([{ path: '/event/event_time', message: expect.any(String) }]);
      const since = await server.request('GET', '/v1/events?since=2024-02-30T00:00:00Z');
      expect([since.status, since.text]).toEqual([400, expect.stringMatching(/since/)]);
    });

    it('a ce-* header whose percent-escapes are not UTF-8, naming the header (CloudEvents HTTP binding)', async () => {
      const headers = { 'ce-specversion': '1.0', 'ce-type': 'order.placed', 'ce-source': '/webshop', 'ce-subject': 'bad%FFutf8' };
      const body = await refused('/v1/events', { body: placed().data, contentType: 'application/json', headers }, 400, 'invalid_utf8');
      expect(body.detail).toEqual([{ path: '/headers/ce-subject', message: expect.stringMatching(/percent-encoded UTF-8/) }]);
    });

    it('a missing type, a missing data, a dataschema of another version', async () => {
      const { type: _type, data: _data, ...rest } = placed();
      const body = await refused('/v1/events', { body: rest, contentType: STRUCTURED }, 422, 'invalid_event');
      expect(body.detail).toEqual(expect.arrayContaining([{ path: '/type', message: 'is required' }, { path: '/data', message: 'is required' }]));
      const versioned = await refused('/v1/events', { body: placed({ dataschema: 'flamingo:order.placed/v9' }), contentType: STRUCTURED }, 422, 'invalid_event');
      expect(versioned.detail).toEqual([{ path: '/dataschema', message: expect.stringMatching(/flamingo:order\.placed\/v1/) }]);
    });

    it('a structured body that is not an object', async () => {
      const body = await refused('/v1/events', { body: '[1,2]', contentType: STRUCTURED }, 422, 'invalid_event');
      expect(body.detail).toEqual([{ path: '/', message: expect.stringMatching(/must be a CloudEvent/) }]);
    });

    it('binary mode: attributes from ce-* headers, data from the body', async () => {
      const body = await refused(
        '/v1/events',
        {
          body: { ...placed().data, totalCents: -5 },
          contentType: 'application/json',
          headers: { 'ce-specversion': '1.0', 'ce-id': nextId(), 'ce-source': '/webshop', 'ce-type': 'order.placed', 'ce-time': 'soon' },
        },
        422,
        'invalid_event',
      );
      expect(body.detail).toEqual([{ path: '/time', message: expect.stringMatching(/RFC 3339/) }]);
      const data = await refused(
        '/v1/events',
        { body: { ...placed().data, totalCents: -5 }, contentType: 'application/json', headers: { 'ce-specversion': '1.0', 'ce-id': nextId(), 'ce-source': '/webshop', 'ce-type': 'order.placed' } },
        422,
        'invalid_event',
      );
      expect(data.detail).toEqual([{ path: '/data/totalCents', message: expect.stringMatching(/greater or equal to 0/) }]);
    });

    it('a batch: paths prefixed with the index, nothing of the batch stored', async () => {
      const bad = placed({ data: { ...placed().data, items: [] } });
      const body = await refused('/v1/events', { body: [placed(), cartAdded(), bad, placed({ time: 'noon' })], contentType: BATCH }, 422, 'invalid_event');
      expect(body.detail).toEqual([{ path: '/3/time', message: expect.stringMatching(/RFC 3339/) }]);
      const dataBody = await refused('/v1/events', { body: [placed(), cartAdded(), bad], contentType: BATCH }, 422, 'invalid_event');
      expect(dataBody.detail).toEqual([{ path: '/2/data/items', message: expect.stringMatching(/array length to be greater or equal to 1/) }]);
    });

    it('a batch that is not an array', async () => {
      const notArray = await refused('/v1/events', { body: placed(), contentType: BATCH }, 422, 'invalid_batch');
      expect(notArray.detail).toEqual([{ path: '/', message: 'must be an array' }]);
    });

    it('a batch giving one id to two different events (CloudEvents identity), naming the later one', async () => {
      const id = '7d4c9a35-7c5e-4a8b-9d6f-1a2b3c4d5e6f';
      const body = await refused('/v1/events', { body: [placed({ id }), placed({ id, subject: 'other' })], contentType: BATCH }, 422, 'invalid_event');
      expect(body.detail).toEqual([{ path: '/1/id', message: expect.stringMatching(/repeats the id of event 0/) }]);
    });

    it('an empty batch is valid (CloudEvents batch format): 202 with nothing stored', async () => {
      const response = await server.request('POST', '/v1/events', { key: ordersKey, body: [], contentType: BATCH });
      expect([response.status, response.body]).toEqual([202, { events: [] }]);
      expect(await server.eventCount()).toBe(stored);
    });
  });

  describe('422 unknown type', () => {
    it('single', async () => {
      const body = await refused('/v1/events', { body: placed({ type: 'order.teleported' }), contentType: STRUCTURED }, 422, 'unknown_event_type');
      expect(body.detail).toEqual([{ path: '/type', message: expect.stringMatching(/unknown event type "order.teleported"/) }]);
    });
    it('in a batch', async () => {
      const body = await refused('/v1/events', { body: [placed(), placed({ type: 'nope' })], contentType: BATCH }, 422, 'unknown_event_type');
      expect(body.detail).toEqual([{ path: '/1/type', message: expect.stringMatching(/unknown event type "nope"/) }]);
    });
  });

  describe('413 too large', () => {
    const padding = (bytes: number) => ({ ...placed().data, items: [{ productId: 'p'.repeat(100), quantity: 1, unitPriceCents: 1, name: 'x'.repeat(199) }], note: 'x'.repeat(bytes) });

    it('an event over 64 KiB', async () => {
      const body = await refused('/v1/events', { body: placed({ data: padding(70 * 1024) }), contentType: STRUCTURED }, 413, 'event_too_large');
      expect(body.message).toMatch(/65536 bytes/);
    });

    it('an event over 64 KiB in a batch names its index', async () => {
      const body = await refused('/v1/events', { body: [placed(), placed({ data: padding(70 * 1024) })], contentType: BATCH }, 413, 'event_too_large');
      expect(body.detail).toEqual([{ path: '/1', message: expect.stringMatching(/at most 65536 are accepted/) }]);
    });

    it('a binary-mode event whose headers take it over 64 KiB (attributes count as stored, not only the body)', async () => {
      const note = 'x'.repeat(4000);
      const headers: Record<string, string> = { 'ce-specversion': '1.0', 'ce-type': 'order.placed', 'ce-source': '/webshop' };
      for (let i = 0; i < 3; i++) headers[`ce-note${i}`] = note;
      const data = { ...placed().data, items: [{ productId: 'p-1', quantity: 1, unitPriceCents: 1, name: 'y'.repeat(199) }], note: 'y'.repeat(60_000) };
      await refused('/v1/events', { body: data, contentType: 'application/json', headers }, 413, 'event_too_large');
    });

    it('a body over 4 MiB', async () => {
      const events = Array.from({ length: 80 }, () => placed({ data: padding(60 * 1024) }));
      await refused('/v1/events', { body: events, contentType: BATCH }, 413, 'payload_too_large');
    });

    it('a batch of more than 1 000 events', async () => {
      const body = await refused('/v1/events', { body: Array.from({ length: 1001 }, () => cartAdded()), contentType: BATCH }, 413, 'batch_too_large');
      expect(body.message).toMatch(/at most 1000 events/);
    });
  });

  describe('401 and 403', () => {
    it('401 without a key, with an unknown key, a revoked key or a malformed header', async () => {
      for (const options of [{ key: null }, { key: 'flm_not-a-real-key' }, { key: revokedKey }, { key: null, headers: { authorization: 'Basic YWRtaW46YWRtaW4=' } }]) {
        await refused('/v1/events', { body: placed(), contentType: STRUCTURED, ...options }, 401, 'unauthorized');
      }
    });

    it('403 for a type the key may not publish, naming it, its producer and how to get a key', async () => {
      const body = await refused('/v1/events', { body: placed(), contentType: STRUCTURED, key: cartOnlyKey }, 403, 'forbidden');
      expect(body.detail).toEqual([{ path: '/type', message: expect.stringMatching(/^order\.placed is produced by orders and this key has no producer scope/) }]);
      expect(body.message).toMatch(/POST \/v1\/keys \{"producer":"orders"\} or flamingo keys create --producer orders/);
    });

    it('403 for a batch when any event is not allowed; nothing of it stored', async () => {
      const body = await refused('/v1/events', { body: [cartAdded(), cartAdded(), placed()], contentType: BATCH, key: cartOnlyKey }, 403, 'forbidden');
      expect(body.detail).toEqual([{ path: '/2/type', message: expect.stringContaining('order.placed is produced by orders') }]);
    });

    it('403 for the admin key and for another producer’s key publishing a service’s type (issue 7)', async () => {
      const byAdmin = await refused('/v1/events', { body: placed(), contentType: STRUCTURED, key: server.adminKey }, 403, 'forbidden');
      expect(byAdmin.message).toMatch(/only a key scoped to producer orders may publish it, not the admin key/);
      const webshop = await server.producerKey('webshop');
      const byWebshop = await refused('/v1/events', { body: placed(), contentType: STRUCTURED, key: webshop }, 403, 'forbidden');
      expect(byWebshop.detail).toEqual([{ path: '/type', message: expect.stringContaining('this key is scoped to producer webshop') }]);
    });

    it('a producer key cannot use the admin API', async () => {
      const response = await server.request('GET', '/v1/events', { key: cartOnlyKey });
      expect([response.status, response.body.error]).toEqual([403, 'forbidden']);
    });
  });

  it('415 for another content type', async () => {
    await refused('/v1/events', { body: 'type=order.placed', contentType: 'application/x-www-form-urlencoded' }, 415, 'unsupported_media_type');
    await refused('/v1/events', { body: JSON.stringify(placed()), contentType: 'text/plain' }, 415, 'unsupported_media_type');
  });
});

describe('POST /event (seed envelope) refuses bad input and stores nothing', () => {
  it('400 malformed JSON', async () => {
    await refused('/event', { body: '{"event_id": ', contentType: null, key: null }, 400, 'malformed_json');
  });

  it('400 not a seed envelope, naming each path', async () => {
    const body = await refused('/event', { body: { event_id: 'nope', event: { event_time: 'later' } }, key: null }, 400, 'invalid_envelope');
    expect(body.detail).toEqual(
      expect.arrayContaining([
        { path: '/event_id', message: 'must be a UUID' },
        { path: '/event/event_name', message: 'is required' },
        { path: '/event/event_time', message: 'must be an ISO 8601 datetime' },
      ]),
    );
  });

  it('422 an unknown event_name', async () => {
    const body = await refused('/event', { body: seedEnvelope({ event_name: 'item_teleported' }), key: null }, 422, 'unknown_event_type');
    expect(body.detail).toEqual([{ path: '/event/event_name', message: expect.stringMatching(/item_teleported/) }]);
  });

  it('422 data breaking the schema, with paths inside the envelope', async () => {
    const body = await refused('/event', { body: seedEnvelope({ items: ['one'] }), key: null }, 422, 'invalid_event');
    expect(body.detail).toEqual([{ path: '/event/items/0', message: expect.stringMatching(/integer/) }]);
  });

  it('401 for a type outside FLAMINGO_SEED_TYPES without a key; 401 for a bad key', async () => {
    const orderEnvelope = { event_id: '5f0c9a35-7c5e-4a8b-9d6f-1a2b3c4d5e6f', event: { event_name: 'order.placed', event_time: '2022-07-17T09:59:59', ...placed().data } };
    const body = await refused('/event', { body: orderEnvelope, key: null }, 401, 'unauthorized');
    expect(body.message).toMatch(/order.placed needs an API key/);
    await refused('/event', { body: seedEnvelope({}), key: 'flm_wrong' }, 401, 'unauthorized');
    await refused('/event', { body: orderEnvelope, key: cartOnlyKey }, 403, 'forbidden');
    await refused('/event', { body: orderEnvelope, key: server.adminKey }, 403, 'forbidden');
  });

  it('413 for an envelope over 64 KiB', async () => {
    await refused('/event', { body: seedEnvelope({ items: Array(20_000).fill(123) }), key: null }, 413, 'event_too_large');
  });
});

describe('query parameters', () => {
  it('an unknown query parameter is refused naming it, not ignored (GET /v1/events?after=500)', async () => {
    const response = await server.request('GET', '/v1/events?after=500&limit=5');
    expect(response.status, response.text).toBe(400);
    expect(response.body.detail).toEqual([{ path: '/query/after', message: expect.stringMatching(/not a parameter of this route.*afterSequence/) }]);
  });
});
