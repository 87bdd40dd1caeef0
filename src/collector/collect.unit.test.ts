import { describe, expect, it } from 'vitest';
import { publishRefusal, type Guard, type Principal } from '../platform/auth/index.ts';
import { ApiError } from '../platform/errors.ts';
import { binaryEvent } from './binary.ts';
import { collect } from './collect.ts';
import { isUriReference } from './envelope.ts';

/** The guard's publishing rule alone (no HTTP, no key store needed for it). */
const guard = {
  publishRefusal: (principal: Principal, type: string) =>
    principal.kind === 'admin' ? publishRefusal('admin', type) : principal.kind === 'producer' ? publishRefusal(principal.key, type) : 'no key',
} as Guard;
const admin: Principal = { kind: 'admin' };
const producer = (types: string[], scope: string | null = null): Principal => ({
  kind: 'producer',
  key: { id: 'k', name: 'webshop', prefix: 'flm_abc', role: 'producer', types, producer: scope, createdAt: '', revokedAt: null },
});
/** A key of the orders service, which may publish order.placed. */
const orders = producer(['order.*'], 'orders');

const placed = (overrides: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
  source: '/webshop',
  type: 'order.placed',
  data: { orderId: 'o-1', userId: 'u-1', items: [{ productId: 'p-1', quantity: 2, unitPriceCents: 500 }], totalCents: 1000, currency: 'EUR' },
  ...overrides,
});

const refusal = (fn: () => unknown): ApiError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('expected an ApiError');
};
const one = (event: unknown, principal: Principal = orders) => collect([event], [100], { batch: false, principal, guard });

describe('collect', () => {
  it('turns a structured event into a publish input, keeping what the producer set', () => {
    const [input] = one(placed({ time: '2024-05-01T12:00:00Z', correlationid: 'c-1' }));
    expect(input).toEqual({
      type: 'order.placed',
      data: placed().data,
      id: placed().id,
      source: '/webshop',
      time: '2024-05-01T12:00:00Z',
      correlationid: 'c-1',
    });
  });

  it('resolves aliases to the catalog type', () => {
    const [input] = one({ specversion: '1.0', id: 'a-1', source: '/webshop', type: 'item_added_to_cart', data: { items: [1, 2], item: 2 } }, admin);
    expect(input.type).toBe('cart.item_added');
    expect(input.source).toBe('/webshop');
  });

  it('requires id and source (CloudEvents), a source being a URI reference; null attributes are absent', () => {
    const error = refusal(() => one({ specversion: '1.0', type: 'cart.item_added', data: { items: [1], item: 1 } }, admin));
    expect(error.detail).toEqual([
      { path: '/id', message: expect.stringMatching(/^is required/) },
      { path: '/source', message: expect.stringMatching(/^is required: a non-empty URI reference/) },
    ]);
    for (const source of ['/webshop', 'https://shop.example/a?b#c', 'urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66', '#fragment', '1-555-123-4567', 'a%20b']) {
      expect(isUriReference(source), source).toBe(true);
    }
    for (const source of ['', 'not a uri', '1http://x', 'café', 'a%zz', '<x>']) expect(isUriReference(source), source).toBe(false);
    const [input] = one({ specversion: '1.0', id: 'n-1', source: '/webshop', type: 'cart.item_added', subject: null, time: null, datacontenttype: null, data: { items: [1], item: 1 } }, admin);
    expect(Object.keys(input)).not.toContain('subject');
    expect(Object.keys(input)).not.toContain('time');
  });

  it('names every envelope problem with its path', () => {
    const error = refusal(() =>
      one({ specversion: '0.3', type: 'order.placed', time: 'yesterday', sequence: 5, shop_colour: 'pink', traceparent: 'x', data_base64: 'AA==' }),
    );
    expect(error.status).toBe(422);
    expect(error.code).toBe('invalid_event');
    expect(error.detail).toEqual(
      expect.arrayContaining([
        { path: '/specversion', message: 'must be "1.0"' },
        { path: '/time', message: expect.stringContaining('RFC 3339') },
        { path: '/sequence', message: expect.stringContaining('assigned by the bus') },
        { path: '/shop_colour', message: expect.stringContaining('lower-case letters a–z and digits 0–9') },
        { path: '/traceparent', message: expect.stringContaining('W3C traceparent') },
        { path: '/data_base64', message: expect.stringContaining('binary data') },
        { path: '/data', message: 'is required' },
      ]),
    );
  });

  it('answers unknown_event_type for a type the catalog does not know', () => {
    const error = refusal(() => one(placed({ type: 'order.teleported' })));
    expect([error.status, error.code]).toEqual([422, 'unknown_event_type']);
    expect(error.detail).toEqual([{ path: '/type', message: expect.stringContaining('"order.teleported"') }]);
  });

  it('names data problems under /data, prefixed by the index in a batch', () => {
    const bad = placed({ id: 'second', data: { ...placed().data, items: [{ productId: 'p-1', quantity: 0, unitPriceCents: 500 }] } });
    const error = refusal(() => collect([placed(), bad], [100, 100], { batch: true, principal: orders, guard }));
    expect([error.status, error.code]).toEqual([422, 'invalid_event']);
    expect(error.detail).toEqual([{ path: '/1/data/items/0/quantity', message: expect.stringMatching(/greater or equal to 1/) }]);
  });

  it('refuses a type outside the key scope with 403, before looking at data', () => {
    const error = refusal(() =>
      collect([placed({ type: 'item_added_to_cart', data: { items: [], item: 1 } }), placed({ id: 'second', data: {} })], [10, 10], {
        batch: true,
        principal: producer(['cart.*']),
        guard,
      }),
    );
    expect(error.status).toBe(403);
    expect(error.detail).toEqual([{ path: '/1/type', message: expect.stringMatching(/^order\.placed is produced by orders and this key has no producer scope/) }]);
    expect(one(placed(), orders)).toHaveLength(1);
    const narrow = refusal(() => one(placed({ type: 'order.confirmed' }), producer(['order.placed'], 'orders')));
    expect(narrow.detail).toEqual([{ path: '/type', message: 'this key may not publish order.confirmed (its types: order.placed)' }]);
  });

  it('lets only a key scoped to the producer publish its types: not the admin key, not another producer (issue 7)', () => {
    const byAdmin = refusal(() => one(placed(), admin));
    expect(byAdmin.status).toBe(403);
    expect(byAdmin.message).toMatch(/^order\.placed is produced by orders: only a key scoped to producer orders may publish it, not the admin key; create one with POST \/v1\/keys \{"producer":"orders"\}/);
    const byWebshop = refusal(() => one(placed(), producer(['*'], 'webshop')));
    expect(byWebshop.detail).toEqual([{ path: '/type', message: expect.stringContaining('order.placed is produced by orders and this key is scoped to producer webshop') }]);
    // Cart item state is anyone's: the admin key and any key whose patterns match publish it.
    const added = { specversion: '1.0', id: 'c-1', source: '/webshop', type: 'cart.item_added', data: { items: [1], item: 1 } };
    expect(one(added, admin)).toHaveLength(1);
    expect(one(added, producer(['cart.item_added']))).toHaveLength(1);
    expect(one(added, producer(['*'], 'orders'))).toHaveLength(1);
  });

  it('lists at most 100 problems', () => {
    const error = refusal(() => collect(Array(300).fill({ type: 'nope' }), Array(300).fill(10), { batch: true, principal: admin, guard }));
    expect(error.detail).toHaveLength(101);
    expect(error.detail?.[100]).toEqual({ path: '/', message: expect.stringMatching(/and \d+ more problems/) });
  });

  it('keeps extension attributes with valid names (Dapr, Knative, a shop\'s own) and refuses invalid names and values, naming the rule', () => {
    const [input] = one(placed({ shopregion: 'eu', topic: 'orders', pubsubname: 'pubsub', knativearrivaltime: '2024-05-01T12:00:00Z', retries: 3, vip: true }), orders);
    expect(input.extensions).toEqual({ shopregion: 'eu', topic: 'orders', pubsubname: 'pubsub', knativearrivaltime: '2024-05-01T12:00:00Z', retries: 3, vip: true });
    const error = refusal(() => one(placed({ ShopRegion: 'eu', 'shop-region': 'eu', nested: { a: 1 }, big: 2 ** 40 }), orders));
    expect(error.status).toBe(422);
    expect(error.detail).toEqual([
      { path: '/ShopRegion', message: expect.stringMatching(/lower-case letters a–z and digits 0–9/) },
      { path: '/shop-region', message: expect.stringMatching(/lower-case letters a–z and digits 0–9/) },
      { path: '/nested', message: expect.stringMatching(/string, a boolean or a 32-bit integer/) },
      { path: '/big', message: expect.stringMatching(/string, a boolean or a 32-bit integer/) },
    ]);
  });

  it('refuses a batch that gives one id twice, naming the later event', () => {
    const id = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
    const error = refusal(() =>
      collect([placed({ id }), placed({ id: 'other' }), placed({ id: id.toUpperCase(), subject: 'order/other' })], [100, 100, 100], { batch: true, principal: admin, guard }),
    );
    expect([error.status, error.code]).toEqual([422, 'invalid_event']);
    expect(error.detail).toEqual([{ path: '/2/id', message: expect.stringMatching(/repeats the id of event 0 \(same source\) with other content/) }]);
    // Two copies of one event are valid (CloudEvents batch format), and one id under two sources is two events.
    expect(collect([placed({ id }), placed({ id: id.toUpperCase() }), placed({ id, source: '/elsewhere', subject: 'order/other' })], [100, 100, 100], { batch: true, principal: orders, guard })).toHaveLength(3);
  });

  it('refuses oversized events and batches with 413', () => {
    const big = refusal(() => collect([placed(), placed()], [10, 70_000], { batch: true, principal: admin, guard }));
    expect([big.status, big.code]).toEqual([413, 'event_too_large']);
    expect(big.detail).toEqual([{ path: '/1', message: expect.stringContaining('70000 bytes') }]);
    const many = refusal(() => collect(Array(1001).fill(placed()), Array(1001).fill(10), { batch: true, principal: admin, guard }));
    expect([many.status, many.code]).toEqual([413, 'batch_too_large']);
    expect(collect([], [], { batch: true, principal: admin, guard })).toEqual([]);
  });
});

describe('binaryEvent', () => {
  it('reads ce-* headers (percent-decoded) and the W3C trace headers; the body is data', () => {
    const event = binaryEvent(
      { 'ce-specversion': '1.0', 'ce-type': 'order.placed', 'ce-subject': 'caf%C3%A9', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'content-type': 'application/json' },
      { a: 1 },
    );
    expect(event).toEqual({
      specversion: '1.0',
      type: 'order.placed',
      subject: 'café',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      data: { a: 1 },
    });
  });

  it('keeps a ce-__proto__ header as an attribute (refused by name), never as the prototype (issue 7, item 2)', () => {
    for (const name of ['__proto__', 'constructor', 'prototype']) {
      const event = binaryEvent({ 'ce-specversion': '1.0', 'ce-id': 'p-1', 'ce-source': '/webshop', 'ce-type': 'cart.item_added', [`ce-${name}`]: 'x' }, { items: [1], item: 1 });
      expect(Object.getPrototypeOf(event)).toBeNull();
      expect(Object.keys(event)).toContain(name);
      const refused = refusal(() => one(event));
      expect(refused.status).toBe(422);
      expect(refused.detail).toEqual([{ path: `/${name}`, message: expect.stringMatching(/not a valid attribute name|prototype pollution/) }]);
    }
  });

  it('reads raw UTF-8 header bytes as UTF-8 and refuses values that are not UTF-8 or hold a NUL, naming the header (issue 7, items 5 and 7)', () => {
    const latin1 = (text: string) => Buffer.from(text, 'utf8').toString('latin1');
    expect(binaryEvent({ 'ce-subject': latin1('café') }, null).subject).toBe('café');
    expect(binaryEvent({ 'ce-subject': '100% sure' }, null).subject).toBe('100% sure');
    // Every %XX is decoded by the HTTP binding's rule, even beside a literal %; a raw UTF-8 value and its escapes agree.
    expect(binaryEvent({ 'ce-subject': '100% a%20b' }, null).subject).toBe('100% a b');
    expect(binaryEvent({ 'ce-subject': latin1('Grüße %E2%9C%93') }, null).subject).toBe('Grüße ✓');
    for (const [value, error] of [
      ['caf%E9', 'invalid_utf8'],
      ['bad%FFutf8', 'invalid_utf8'],
      ['50% off %FF', 'invalid_utf8'],
      ['caf\xe9', 'invalid_utf8'], // the Latin-1 byte of é alone is not UTF-8
      ['a%00b', 'nul_character'],
    ] as const) {
      const refused = refusal(() => binaryEvent({ 'ce-subject': value }, null));
      expect({ status: refused.status, code: refused.code, detail: refused.detail }).toEqual({
        status: 400,
        code: error,
        detail: [{ path: '/headers/ce-subject', message: expect.any(String) }],
      });
    }
  });
});
