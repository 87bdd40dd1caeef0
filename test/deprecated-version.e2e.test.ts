/**
 * Issue 14, versioning: while the catalog keeps an older version of a type deprecated, producers
 * may still publish it (from code and over HTTP, naming it in `dataschema`), its `data` is checked
 * against that version's schema, and subscribers get it; once the deprecation ends it is refused,
 * naming `dataschema`. The test gives `cart.item_removed` a v2 (with `cartId` required) in this
 * process only, keeping v1 deprecated.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventValidationError, type DeliveredEvent } from '../src/bus/index.ts';
import { findDefinition, type DeprecatedVersion } from '../src/contracts/index.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const entry = findDefinition('cart.item_removed')! as unknown as { version: number; schema: TSchema; deprecated?: DeprecatedVersion[] };
const v1 = entry.schema;
const V1 = 'flamingo:cart.item_removed/v1';
const V2 = 'flamingo:cart.item_removed/v2';
const withoutCart = { items: [1], item: 2 };

let server: TestServer;
beforeAll(async () => {
  entry.version = 2;
  entry.schema = Type.Composite([Type.Omit(v1 as never, ['cartId']), Type.Object({ cartId: Type.String({ format: 'uuid' }) })]);
  entry.deprecated = [{ version: 1, schema: v1, until: new Date(Date.now() + 3600_000).toISOString() }];
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
  Object.assign(entry, { version: 1, schema: v1, deprecated: undefined });
});

describe('a deprecated version', () => {
  it('is published, checked against its own schema, stored under its dataschema and delivered', async () => {
    const bus = server.flamingo.bus;
    const received: DeliveredEvent[] = [];
    const subscription = await bus.subscribe({ name: 'test.removals', types: ['cart.item_removed'], startAt: 'beginning', concurrency: 1 }, (event) => {
      received.push(event);
    });
    // The current version needs `cartId`; v1 does not.
    await expect(bus.publish({ type: 'cart.item_removed', data: withoutCart as never })).rejects.toThrow(EventValidationError);
    const old = await bus.publish({ type: 'cart.item_removed', dataschema: V1, data: withoutCart as never });
    const current = await bus.publish({ type: 'cart.item_removed', data: { ...withoutCart, cartId: uuidv7() } as never });
    await expect(bus.publish({ type: 'cart.item_removed', dataschema: 'flamingo:cart.item_removed/v3', data: withoutCart as never })).rejects.toMatchObject({
      issues: [expect.objectContaining({ path: '/dataschema', message: `must be "${V2}" or "${V1}" (the versions of cart.item_removed accepted now) or left out` })],
    });

    const over = await server.request('POST', '/v1/events', { contentType: 'application/cloudevents+json', body: { specversion: '1.0', id: uuidv7(), source: '/shop', type: 'cart.item_removed', dataschema: V1, data: withoutCart } });
    expect(over.status).toBe(202);
    const refused = await server.request('POST', '/v1/events', { contentType: 'application/cloudevents+json', body: { specversion: '1.0', id: uuidv7(), source: '/shop', type: 'cart.item_removed', data: withoutCart } });
    expect(refused.status).toBe(422);
    expect(refused.body.detail).toContainEqual({ path: '/data/cartId', message: 'Expected required property' });

    const stored = (await server.request('GET', '/v1/events?limit=100')).body.events as { id: string; dataschema: string }[];
    expect(stored.find((e) => e.id === old.id)?.dataschema).toBe(V1);
    expect(stored.find((e) => e.id === current.id)?.dataschema).toBe(V2);
    expect(stored.find((e) => e.id === over.body.id)?.dataschema).toBe(V1);

    for (let i = 0; i < 100 && received.length < 3; i++) await new Promise((r) => setTimeout(r, 50));
    await subscription.close();
    expect(received.map((e) => e.id)).toEqual([old.id, current.id, over.body.id]);
    expect(await bus.deadLetters('test.removals')).toEqual([]);
  });

  it('is refused once its deprecation has ended, naming dataschema', async () => {
    entry.deprecated = [{ version: 1, schema: v1, until: new Date(Date.now() - 1000).toISOString() }];
    await expect(server.flamingo.bus.publish({ type: 'cart.item_removed', dataschema: V1, data: withoutCart as never })).rejects.toMatchObject({
      issues: [expect.objectContaining({ path: '/dataschema', message: `must be "${V2}" (the versions of cart.item_removed accepted now) or left out` })],
    });
    const over = await server.request('POST', '/v1/events', { contentType: 'application/cloudevents+json', body: { specversion: '1.0', id: uuidv7(), source: '/shop', type: 'cart.item_removed', dataschema: V1, data: withoutCart } });
    expect(over.status).toBe(422);
    expect(over.body.detail).toEqual([{ path: '/dataschema', message: `must be "${V2}" (the catalog's version of cart.item_removed) or left out` }]);
  });
});
