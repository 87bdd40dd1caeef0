/**
 * What the collector accepts matches the JSON Schema it publishes at `GET /v1/catalog` (issue 7,
 * item 8), checked with an independent validator: ajv with ajv-formats, configured here and not
 * from Flamingo's code. One event of every catalog type is accepted and, as stored, valid; the edge
 * values that once passed the server but not the published schema (an e-mail with a NUL or
 * non-ASCII letters, a date-time without offset or on a day that does not exist, …) are refused.
 */
import { randomUUID } from 'node:crypto';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleOf, type SchemaNode } from './support/schema-samples.ts';
import { startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
const validators = new Map<string, ValidateFunction>();
const samples = new Map<string, Record<string, unknown>>();

beforeAll(async () => {
  server = await startTestServer();
  const catalog = await server.request('GET', '/v1/catalog', { key: null });
  expect(catalog.status).toBe(200);
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats.default(ajv);
  for (const entry of catalog.body.types as { type: string; producer: string; schema: SchemaNode }[]) {
    producers.set(entry.type, entry.producer);
    validators.set(entry.type, ajv.compile(entry.schema));
    samples.set(entry.type, sampleOf(entry.schema) as Record<string, unknown>);
  }
  expect(validators.size).toBeGreaterThan(20);
});
afterAll(() => server?.stop());

/** Whether the published schema of `type` accepts `data`, with ajv's reasons when not. */
function published(type: string, data: unknown): { valid: boolean; errors: string[] } {
  const validate = validators.get(type)!;
  const valid = validate(data) as boolean;
  return { valid, errors: (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`) };
}

/** A copy of `type`'s sample with the value at `pointer` (`/items/0/quantity`) replaced. */
function sampleWith(type: string, pointer: string, value: unknown): Record<string, unknown> {
  const data = structuredClone(samples.get(type)!);
  const parts = pointer.split('/').slice(1);
  let node = data as Record<string, unknown>;
  for (const part of parts.slice(0, -1)) node = node[part] as Record<string, unknown>;
  node[parts.at(-1)!] = value;
  return data;
}

const producers = new Map<string, string>();
const keys = new Map<string, Promise<string>>();
/** A key of the type's producer: only such a key may publish a type a service produces. */
const keyFor = (type: string) => {
  const producer = producers.get(type)!;
  let key = keys.get(producer);
  if (!key) keys.set(producer, (key = server.producerKey(producer)));
  return key;
};

const publish = async (type: string, data: unknown) =>
  server.request('POST', '/v1/events', {
    body: { specversion: '1.0', id: randomUUID(), type, source: '/test', data },
    contentType: 'application/cloudevents+json',
    key: await keyFor(type),
  });

it('accepts one event of every catalog type, and stores each valid against its published schema', async () => {
  for (const [type, data] of samples) {
    expect({ type, ...published(type, data) }).toEqual({ type, valid: true, errors: [] });
    const response = await publish(type, data);
    expect({ type, status: response.status }, response.text).toEqual({ type, status: 202 });
  }
  const stored = (await server.request('GET', '/v1/events?limit=1000')).body.events as { type: string; data: unknown }[];
  expect(stored.length).toBe(samples.size);
  for (const event of stored) expect({ type: event.type, ...published(event.type, event.data) }).toEqual({ type: event.type, valid: true, errors: [] });
});

describe('edge values: the server and the published schema agree', () => {
  const refusedByBoth: [string, string, unknown][] = [
    ['user.registered', '/email', 'ada\u0000@example.com'],
    ['user.registered', '/email', 'zoë@example.com'],
    ['user.registered', '/email', '.ada@example.com'],
    ['user.registered', '/email', 'ada..lovelace@example.com'],
    ['user.registered', '/email', 'ada@example'],
    ['user.registered', '/email', 'ada@exa_mple.com'],
    ['user.registered', '/registeredAt', '2024-05-01T12:00:00'],
    ['user.registered', '/registeredAt', '2024-02-30T12:00:00Z'],
    ['user.registered', '/registeredAt', '2024-05-01T24:00:00Z'],
    ['user.registered', '/registeredAt', '2024-05-01T12:00:00+25:00'],
    ['user.registered', '/registeredAt', '2024-05-01'],
    ['user.registered', '/registeredAt', 'Wed, 01 May 2024 12:00:00 GMT'],
    ['cart.item_added', '/cartId', '0190a1b2c3d47e5f8a9b0c1d2e3f4a5b'],
    ['shipment.dispatched', '/trackingUrl', 'not a url'],
    ['shipment.dispatched', '/trackingUrl', '/track/1'],
  ];

  it.each(refusedByBoth)('%s %s = %j is refused, as the published schema refuses it', async (type, pointer, value) => {
    const data = sampleWith(type, pointer, value);
    expect(published(type, data).valid).toBe(false);
    const before = await server.eventCount();
    const response = await publish(type, data);
    expect(response.status, response.text).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expect(response.body.detail).toEqual(expect.arrayContaining([expect.objectContaining({ path: `/data${pointer}` })]));
    expect(await server.eventCount()).toBe(before);
  });

  const acceptedByBoth: [string, string, unknown][] = [
    ['user.registered', '/email', 'ada.lovelace+news@mail.example.co.uk'],
    ['user.registered', '/registeredAt', '2024-05-01T12:00:00+05:30'],
    ['user.registered', '/registeredAt', '2024-05-01t12:00:00.123456z'],
    ['user.registered', '/registeredAt', '2016-12-31T23:59:60Z'],
    ['cart.item_added', '/cartId', '0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B'],
    ['shipment.dispatched', '/trackingUrl', 'https://carrier.example/track?id=1&x=%20'],
  ];

  it.each(acceptedByBoth)('%s %s = %j is accepted, as the published schema accepts it', async (type, pointer, value) => {
    const data = sampleWith(type, pointer, value);
    expect(published(type, data)).toEqual({ valid: true, errors: [] });
    const response = await publish(type, data);
    expect(response.status, response.text).toBe(202);
  });
});
