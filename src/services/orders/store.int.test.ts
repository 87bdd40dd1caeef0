import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../../../test/support/service-databases.ts';
import { ordersTables } from './migrations/001_orders.ts';
import { priceItems } from './pricing.ts';
import { placed } from './saga.ts';
import { ConcurrentUpdateError, customersStore, ordersStore, productsStore, type OrdersDatabase } from './store.ts';

describe.each(DIALECTS)('orders store on %s', (dialect) => {
  let test: TestDatabase<OrdersDatabase>;
  beforeAll(async () => {
    test = await openTestDatabase<OrdersDatabase>(dialect, 'orders', { '001_orders': ordersTables });
  });
  afterAll(() => test.cleanup());
  const at = '2026-01-01T00:00:00.000Z';
  const state = placed({ orderId: 'o1', userId: 'u1', items: [{ productId: 'p1', quantity: 2, unitPriceCents: 1250 }], totalCents: 2500, currency: 'EUR' });

  it('stores an order once and reads it back whole', async () => {
    const db = test.database.db;
    expect(await ordersStore.insert(db, state, at, 'cart-1')).toBe(true);
    expect(await ordersStore.insert(db, state, at)).toBe(false);
    expect(await ordersStore.load(db, 'o1')).toEqual({ state, version: 1, cartId: 'cart-1', createdAt: at, updatedAt: at });
  });

  it('saves at the version read and refuses a stale write', async () => {
    const db = test.database.db;
    const next = { ...state, status: 'stock_reserved' as const, stockReserved: true, shipments: { s1: 'created' as const } };
    await ordersStore.save(db, next, 1, at);
    await expect(ordersStore.save(db, next, 1, at)).rejects.toBeInstanceOf(ConcurrentUpdateError);
    expect((await ordersStore.load(db, 'o1'))?.state).toEqual(next);
  });

  it('keeps the history in order', async () => {
    const db = test.database.db;
    await ordersStore.appendHistory(db, 'o1', [{ status: 'pending', at, eventId: 'e1', eventType: 'order.placed' }]);
    await ordersStore.appendHistory(db, 'o1', [
      { status: 'paid', at, eventId: 'e2', eventType: 'payment.succeeded' },
      { status: 'confirmed', at, eventId: 'e3', eventType: 'order.confirmed' },
    ]);
    expect((await ordersStore.history(db, 'o1')).map((h) => h.eventId)).toEqual(['e1', 'e2', 'e3']);
  });

  it('lists unpaid orders of a customer', async () => {
    expect(await ordersStore.unpaidOf(test.database.db, 'u1')).toEqual(['o1']);
  });

  it('keeps the customers replica', async () => {
    const db = test.database.db;
    await customersStore.known(db, 'u1', at);
    expect(await customersStore.get(db, 'u1')).toEqual({ banned: false });
    await customersStore.setBanned(db, 'u1', true, at);
    await customersStore.known(db, 'u1', at);
    expect(await customersStore.get(db, 'u1')).toEqual({ banned: true });
    expect(await customersStore.get(db, 'nobody')).toBeUndefined();
  });

  it('prices lines from the products replica and names the line it cannot price', async () => {
    const db = test.database.db;
    await productsStore.upsert(db, { id: 'p1', sku: 'SKU-1', name: 'Coffee', priceCents: 1250, currency: 'EUR', active: true }, at);
    await productsStore.upsert(db, { id: 'p2', sku: 'SKU-2', name: 'Tea', priceCents: 400, currency: 'EUR', active: false }, at);
    await productsStore.upsert(db, { id: 'p3', sku: 'SKU-3', name: 'Mug', priceCents: 900, currency: 'USD', active: true }, at);
    expect(await priceItems(db, [{ productId: 'p1', quantity: 3 }])).toEqual({
      ok: true,
      items: [{ productId: 'p1', quantity: 3, unitPriceCents: 1250, sku: 'SKU-1', name: 'Coffee' }],
      totalCents: 3750,
      currency: 'EUR',
    });
    const refused = await priceItems(db, [
      { productId: 'p1', quantity: 1 },
      { productId: 'nope', quantity: 1 },
      { productId: 'p2', quantity: 1 },
      { productId: 'p3', quantity: 1 },
    ]);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.problems.map((p) => p.path)).toEqual(['/items/1/productId', '/items/2/productId', '/items/3/productId']);
  });
});
