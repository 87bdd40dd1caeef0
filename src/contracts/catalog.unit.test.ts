import { describe, expect, it } from 'vitest';
import type { TSchema } from '@sinclair/typebox';
import { catalog, catalogDocument, findDefinition, keyOf, PROTOTYPE_NAMES, publishedByOf, subjectOf, validateData, type EventData, type EventType } from './index.ts';

/** DESIGN.md "Commerce domain", the first catalog, and the consumers' own events (the notifications the hub shows). */
const DESIGN: Record<string, readonly string[]> = {
  users: ['user.registered', 'user.updated', 'user.banned', 'user.unbanned'],
  catalog: ['product.created', 'product.updated', 'stock.adjusted', 'stock.reserved', 'stock.reservation_failed', 'stock.released', 'stock.low'],
  webshop: ['cart.item_added', 'cart.item_removed', 'cart.checked_out'],
  orders: ['order.placed', 'order.confirmed', 'order.cancelled', 'order.completed'],
  payments: ['payment.succeeded', 'payment.failed', 'payment.refunded'],
  fulfillment: ['shipment.created', 'shipment.dispatched', 'shipment.delivered'],
  reviews: ['product.reviewed', 'review.flagged'],
  notifications: ['notification.created'],
};

const definition = (type: string) => {
  const found = findDefinition(type);
  if (!found) throw new Error(`no ${type}`);
  return found;
};

/** The sub-schema a JSON pointer names, walking object properties. */
function schemaAtPointer(schema: TSchema, pointer: string): unknown {
  let node: unknown = schema;
  for (const part of pointer.split('/').slice(1)) {
    node = (node as { properties?: Record<string, unknown> }).properties?.[part];
    if (node === undefined) return undefined;
  }
  return node;
}

describe('catalog', () => {
  it('holds exactly the DESIGN.md types and notification.created, each under its producer', () => {
    const actual = Object.fromEntries(Object.keys(DESIGN).map((p) => [p, catalog.filter((e) => e.producer === p).map((e) => e.type)]));
    expect(actual).toEqual(DESIGN);
    expect(catalog).toHaveLength(Object.values(DESIGN).flat().length);
  });

  it('has no name used twice across types and aliases', () => {
    const names = catalog.flatMap((e) => [e.type, ...e.aliases]);
    expect(new Set(names).size).toBe(names.length);
  });

  it('names types noun.past_tense and gives every one a version, description and a valid kind', () => {
    for (const entry of catalog) {
      expect(entry.type).toMatch(/^[a-z]+\.[a-z_]+$/);
      expect(entry.version).toBeGreaterThanOrEqual(1);
      expect(entry.description.length).toBeGreaterThan(10);
      expect(['domain', 'state', 'notification']).toContain(entry.kind);
    }
  });

  it('lets anyone publish only the cart item events; every other type only its producer (issue 7)', () => {
    const open = catalog.filter((e) => publishedByOf(e) === 'anyone').map((e) => e.type).sort();
    expect(open).toEqual(['cart.item_added', 'cart.item_removed']);
    const document = catalogDocument().types;
    expect(document.find((t) => t.type === 'cart.item_added')?.publishedBy).toBe('anyone');
    expect(document.find((t) => t.type === 'cart.checked_out')?.publishedBy).toBe('producer');
  });

  it('marks user.banned and payment.failed immediate, everything else background', () => {
    const immediate = catalog.filter((e) => e.urgency === 'immediate').map((e) => e.type).sort();
    expect(immediate).toEqual(['payment.failed', 'user.banned']);
  });

  it('points key fields, personal data and secrets at fields of the schema', () => {
    for (const entry of catalog) {
      expect(entry.key.length, entry.type).toBeGreaterThan(0);
      for (const field of entry.key) expect(schemaAtPointer(entry.schema, `/${field}`), `${entry.type} key ${field}`).toBeDefined();
      for (const pointer of [...entry.personalData, ...(entry.secrets ?? [])]) {
        expect(schemaAtPointer(entry.schema, pointer), `${entry.type} ${pointer}`).toBeDefined();
      }
    }
  });

  it('marks e-mail, names, addresses and free text as personal data', () => {
    expect(definition('user.registered').personalData).toEqual(expect.arrayContaining(['/email', '/name']));
    expect(definition('order.placed').personalData).toEqual(expect.arrayContaining(['/email', '/shippingAddress']));
    expect(definition('product.reviewed').personalData).toContain('/comment');
    expect(definition('shipment.created').personalData).toContain('/address');
    expect(definition('order.placed').secrets).toEqual(['/paymentToken']);
  });

  it('declares no field named __proto__, constructor or prototype, which every input refuses (issue 7, item 2)', () => {
    const declared: string[] = [];
    const stack: unknown[] = catalog.map((entry) => entry.schema);
    while (stack.length > 0) {
      const node = stack.pop();
      if (typeof node !== 'object' || node === null) continue;
      const properties = (node as { properties?: Record<string, unknown> }).properties;
      if (properties) declared.push(...Object.keys(properties));
      stack.push(...Object.values(node));
    }
    expect(declared.length).toBeGreaterThan(50);
    expect(declared.filter((name) => PROTOTYPE_NAMES.has(name))).toEqual([]);
  });

  it('resolves the seed names as aliases', () => {
    const expected: Record<string, EventType> = {
      item_added_to_cart: 'cart.item_added',
      UserRegistered: 'user.registered',
      OrderCreated: 'order.placed',
      OrderPaid: 'order.confirmed',
      ProductReviewed: 'product.reviewed',
      StockLow: 'stock.low',
      UserBanned: 'user.banned',
      PaymentFailed: 'payment.failed',
    };
    for (const [alias, type] of Object.entries(expected)) expect(findDefinition(alias)?.type, alias).toBe(type);
    expect(findDefinition('NoSuchEvent')).toBeUndefined();
  });
});

describe('typed data', () => {
  it('infers data types from the schemas', () => {
    const placed: EventData<'order.placed'> = {
      orderId: '0190a000-0000-7000-8000-000000000001',
      userId: '0190a000-0000-7000-8000-000000000002',
      items: [{ productId: 'p-1', quantity: 2, unitPriceCents: 1250 }],
      totalCents: 2500,
      currency: 'EUR',
      paymentToken: 'tok_ok',
    };
    // @ts-expect-error totalCents is a number
    const wrongType: EventData<'order.placed'> = { ...placed, totalCents: '25.00' };
    // @ts-expect-error the money field is totalCents, not total
    const wrongField: EventData<'order.placed'> = { ...placed, total: 25 };
    // @ts-expect-error reason must be one of the cancellation reasons
    const wrongReason: EventData<'order.cancelled'> = { orderId: 'o', userId: 'u', reason: 'bored', stockReserved: false };
    // @ts-expect-error rating is required
    const missing: EventData<'product.reviewed'> = { reviewId: 'r', productId: 'p', userId: 'u', comment: '' };
    const cart: EventData<'cart.item_added'> = { customer_id: null, items: [1, 2], item: 3 };
    expect([wrongType, wrongField, wrongReason, missing].length).toBe(4);
    expect(validateData(definition('order.placed'), placed)).toEqual([]);
    expect(validateData(definition('cart.item_added'), cart)).toEqual([]);
  });
});

describe('validation', () => {
  it('names the path and the rule of each problem', () => {
    const issues = validateData(definition('order.placed'), {
      orderId: 'o-1',
      userId: 'u-1',
      items: [{ productId: 'p-1', quantity: 0, unitPriceCents: 100 }],
      totalCents: 12.5,
      currency: 'eur',
    });
    const paths = issues.map((i) => i.path);
    expect(paths).toContain('/items/0/quantity');
    expect(paths).toContain('/totalCents');
    expect(paths).toContain('/currency');
    expect(issues.find((i) => i.path === '/items/0/quantity')?.message).toMatch(/greater or equal to 1/);
  });

  it('accepts the seed 000 cart payload, with or without customer and cart id', () => {
    const def = definition('item_added_to_cart');
    expect(validateData(def, { customer_id: '6f1c1f3e-3c7a-4b8e-9d2a-0d6a3b7b2c11', items: [1, 2], item: 3 })).toEqual([]);
    expect(validateData(def, { customer_id: null, items: [], item: 3 })).toEqual([]);
    expect(validateData(def, { items: [1], item: 1, cartId: '0190a000-0000-7000-8000-000000000001' })).toEqual([]);
    expect(validateData(def, { customer_id: 'nope', items: [1, 'x'], item: 1 }).map((i) => i.path)).toEqual(
      expect.arrayContaining(['/customer_id', '/items/1']),
    );
  });

  it('rejects a rating outside 1..5 and a malformed e-mail', () => {
    expect(validateData(definition('ProductReviewed'), { reviewId: 'r', productId: 'p', userId: 'u', rating: 6, comment: 'x' })[0]?.path).toBe('/rating');
    expect(validateData(definition('UserRegistered'), { userId: 'u', email: 'not-mail', name: 'Ann' })[0]?.path).toBe('/email');
  });

  it('expresses the whole order saga', () => {
    const order = '0190a000-0000-7000-8000-0000000000aa';
    const user = '0190a000-0000-7000-8000-0000000000bb';
    const items = [{ productId: 'p-1', quantity: 1 }];
    const saga: [EventType, unknown][] = [
      ['order.placed', { orderId: order, userId: user, items: [{ ...items[0], unitPriceCents: 999 }], totalCents: 999, currency: 'EUR', paymentToken: 'tok_ok' }],
      ['stock.reserved', { orderId: order, items }],
      ['payment.succeeded', { paymentId: 'pay-1', orderId: order, amountCents: 999, currency: 'EUR' }],
      ['order.confirmed', { orderId: order, userId: user, paymentId: 'pay-1', items: [{ ...items[0], unitPriceCents: 999 }], totalCents: 999, currency: 'EUR' }],
      ['shipment.created', { shipmentId: 's-1', orderId: order, userId: user, items }],
      ['shipment.dispatched', { shipmentId: 's-1', orderId: order, userId: user, carrier: 'DHL', trackingNumber: 'JD0001' }],
      ['shipment.delivered', { shipmentId: 's-1', orderId: order, userId: user }],
      ['order.completed', { orderId: order, userId: user, totalCents: 999, currency: 'EUR' }],
      ['stock.reservation_failed', { orderId: order, productId: 'p-1', requested: 3, available: 1, reason: 'insufficient_stock' }],
      ['payment.failed', { orderId: order, error: 'insufficient funds' }],
      ['order.cancelled', { orderId: order, userId: user, reason: 'payment_timeout', stockReserved: true, detail: 'no payment within 15 min' }],
      ['stock.released', { orderId: order, items, reason: 'order_cancelled' }],
      ['payment.refunded', { refundId: 'rf-1', paymentId: 'pay-1', orderId: order, amountCents: 999, currency: 'EUR', reason: 'out_of_stock' }],
    ];
    for (const [type, data] of saga) {
      const def = definition(type);
      expect(validateData(def, data), type).toEqual([]);
      expect(subjectOf(def, data), type).toBe(`order/${order}`);
    }
  });

  it('derives key and subject from the first key field present', () => {
    const def = definition('cart.item_added');
    expect(keyOf(def, { customer_id: 'c', items: [], item: 1 })).toBe('c');
    expect(subjectOf(def, { cartId: 'k', customer_id: 'c', items: [], item: 1 })).toBe('cart/k');
    expect(subjectOf(def, { customer_id: null, items: [], item: 1 })).toBeUndefined();
  });
});
