import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../../../test/support/service-databases.ts';
import type { Dialect } from '../../platform/db.ts';
import { catalogTables } from './migrations/001_catalog.ts';
import { createProduct, updateProduct, type NewProduct } from './products.ts';
import { excludeFlagged, recordReview } from './ratings.ts';
import { adjustStock, readOrderStatuses, releaseForOrder, reserveForOrder } from './stock.ts';
import { findProduct, productOf, type CatalogDatabase, type CatalogDb } from './store.ts';

describe.each(DIALECTS)('catalog stock on %s', (dialect: Dialect) => {
  let test: TestDatabase<CatalogDatabase>;
  let db: CatalogDb;
  beforeAll(async () => {
    test = await openTestDatabase<CatalogDatabase>(dialect, 'catalog', { '001_catalog': catalogTables });
    db = test.database.db;
  });
  afterAll(() => test.cleanup());

  const tx = <T>(fn: (trx: CatalogDb) => Promise<T>) => db.transaction().execute(fn);
  const product = async (input: Partial<NewProduct> = {}) =>
    (await tx((trx) => createProduct(trx, { sku: `SKU-${uuidv7()}`, name: 'Mug', priceCents: 1250, onHand: 10, ...input }))).row;
  const onHand = async (id: string) => productOf((await findProduct(db, id))!).onHand;
  const placed = (items: { productId: string; quantity: number }[]) => ({
    orderId: uuidv7(),
    userId: uuidv7(),
    items: items.map((i) => ({ ...i, unitPriceCents: 100 })),
    totalCents: 100,
    currency: 'EUR',
  });

  it('numbers products and refuses a taken sku', async () => {
    const a = await product({ sku: 'UNIQUE-1' });
    const b = await product();
    expect(Number(b.number)).toBe(Number(a.number) + 1);
    await expect(tx((trx) => createProduct(trx, { sku: 'UNIQUE-1', name: 'x', priceCents: 1 }))).rejects.toMatchObject({ status: 409, code: 'sku_taken' });
  });

  it('adjusts stock, never below zero, and publishes stock.low only on the crossing', async () => {
    const p = await product({ onHand: 10, lowStockThreshold: 5 });
    const first = await tx((trx) => adjustStock(trx, dialect, p.id, { delta: -4, reason: 'damaged' }));
    expect(first.events.map((e) => e.type)).toEqual(['stock.adjusted']);
    const second = await tx((trx) => adjustStock(trx, dialect, p.id, { delta: -1, reason: 'damaged' }));
    expect(second.events.map((e) => e.type)).toEqual(['stock.adjusted', 'stock.low']);
    expect(second.events[1].data).toMatchObject({ onHand: 5, threshold: 5 });
    const third = await tx((trx) => adjustStock(trx, dialect, p.id, { delta: -1, reason: 'damaged' }));
    expect(third.events.map((e) => e.type)).toEqual(['stock.adjusted']);
    await expect(tx((trx) => adjustStock(trx, dialect, p.id, { delta: -5, reason: 'correction' }))).rejects.toMatchObject({
      status: 409,
      detail: [{ path: '/body/delta' }],
    });
    expect(await onHand(p.id)).toBe(4);
    await tx((trx) => adjustStock(trx, dialect, p.id, { delta: 10, reason: 'restock' }));
    const again = await tx((trx) => adjustStock(trx, dialect, p.id, { delta: -10, reason: 'correction' }));
    expect(again.events.map((e) => e.type)).toEqual(['stock.adjusted', 'stock.low']);
  });

  it('handles a batch with its orders\' statuses read ahead as it handles the events one by one', async () => {
    const p = await product({ onHand: 10 });
    const a = placed([{ productId: p.id, quantity: 2 }]);
    const b = placed([{ productId: p.id, quantity: 3 }]);
    const before = placed([{ productId: p.id, quantity: 1 }]);
    await tx((trx) => reserveForOrder(trx, dialect, before));
    const types = await tx(async (trx) => {
      await readOrderStatuses(trx, dialect, [a.orderId, a.orderId, before.orderId, b.orderId, a.orderId]);
      return [
        ...(await reserveForOrder(trx, dialect, a)),
        ...(await reserveForOrder(trx, dialect, a)),
        ...(await reserveForOrder(trx, dialect, before)),
        ...(await releaseForOrder(trx, dialect, b.orderId)),
        ...(await releaseForOrder(trx, dialect, a.orderId)),
        ...(await reserveForOrder(trx, dialect, b)),
      ].map((e) => e.type);
    });
    // a reserved once then released; the order reserved before the batch is not reserved again; b was cancelled before it was placed.
    expect(types).toEqual(['stock.reserved', 'stock.released']);
    expect(await onHand(p.id)).toBe(9);
  });

  it('reserves all lines of an order or none, naming the short item', async () => {
    const a = await product({ onHand: 5 });
    const b = await product({ onHand: 1 });
    const failing = placed([{ productId: a.id, quantity: 2 }, { productId: b.id, quantity: 2 }]);
    const failed = await tx((trx) => reserveForOrder(trx, dialect, failing));
    expect(failed).toEqual([
      expect.objectContaining({
        type: 'stock.reservation_failed',
        data: { orderId: failing.orderId, productId: b.id, requested: 2, available: 1, reason: 'insufficient_stock' },
      }),
    ]);
    expect([await onHand(a.id), await onHand(b.id)]).toEqual([5, 1]);

    const ok = placed([{ productId: a.id, quantity: 2 }, { productId: b.id, quantity: 1 }, { productId: a.id, quantity: 1 }]);
    const reserved = await tx((trx) => reserveForOrder(trx, dialect, ok));
    expect(reserved[0]).toMatchObject({ type: 'stock.reserved', data: { orderId: ok.orderId, items: [{ productId: a.id, quantity: 3 }, { productId: b.id, quantity: 1 }] } });
    expect([await onHand(a.id), await onHand(b.id)]).toEqual([2, 0]);
    // b fell to 0, at its threshold of 0: sold out.
    expect(reserved.filter((e) => e.type === 'stock.low').map((e) => e.data)).toEqual([expect.objectContaining({ productId: b.id, onHand: 0 })]);
    // The same order again reserves nothing more.
    expect(await tx((trx) => reserveForOrder(trx, dialect, ok))).toEqual([]);
    expect(await onHand(a.id)).toBe(2);
  });

  it('fails unknown and inactive products', async () => {
    const inactive = await product({ active: false });
    const unknown = uuidv7();
    const [u] = await tx((trx) => reserveForOrder(trx, dialect, placed([{ productId: unknown, quantity: 1 }])));
    expect(u.data).toMatchObject({ productId: unknown, reason: 'unknown_product', available: 0 });
    const [i] = await tx((trx) => reserveForOrder(trx, dialect, placed([{ productId: inactive.id, quantity: 1 }])));
    expect(i.data).toMatchObject({ productId: inactive.id, reason: 'inactive_product' });
  });

  it('releases exactly what an order reserved, once', async () => {
    const a = await product({ onHand: 4 });
    const order = placed([{ productId: a.id, quantity: 3 }]);
    await tx((trx) => reserveForOrder(trx, dialect, order));
    expect(await onHand(a.id)).toBe(1);
    const released = await tx((trx) => releaseForOrder(trx, dialect, order.orderId));
    expect(released).toEqual([expect.objectContaining({ type: 'stock.released', data: { orderId: order.orderId, items: [{ productId: a.id, quantity: 3 }], reason: 'order_cancelled' } })]);
    expect(await tx((trx) => releaseForOrder(trx, dialect, order.orderId))).toEqual([]);
    expect(await onHand(a.id)).toBe(4);

    const failing = placed([{ productId: a.id, quantity: 99 }]);
    await tx((trx) => reserveForOrder(trx, dialect, failing));
    expect(await tx((trx) => releaseForOrder(trx, dialect, failing.orderId))).toEqual([]);
    expect(await onHand(a.id)).toBe(4);
  });

  it('remembers an order cancelled before its reservation', async () => {
    const a = await product({ onHand: 4 });
    const order = placed([{ productId: a.id, quantity: 1 }]);
    expect(await tx((trx) => releaseForOrder(trx, dialect, order.orderId))).toEqual([]);
    expect(await tx((trx) => reserveForOrder(trx, dialect, order))).toEqual([]);
    expect(await onHand(a.id)).toBe(4);
  });

  it('never oversells under concurrent reservations', async () => {
    const a = await product({ onHand: 5 });
    const orders = Array.from({ length: 12 }, () => placed([{ productId: a.id, quantity: 1 }]));
    const results = await Promise.all(orders.map((o) => tx((trx) => reserveForOrder(trx, dialect, o))));
    expect(results.filter((r) => r[0].type === 'stock.reserved')).toHaveLength(5);
    expect(await onHand(a.id)).toBe(0);
  });

  it('updates only what changed and reports the crossing of a raised threshold', async () => {
    const a = await product({ onHand: 4, lowStockThreshold: 2 });
    expect((await tx((trx) => updateProduct(trx, dialect, a.id, { name: 'Mug', priceCents: 1250 }))).events).toEqual([]);
    const changed = await tx((trx) => updateProduct(trx, dialect, a.id, { priceCents: 990, lowStockThreshold: 4 }));
    expect(changed.events.map((e) => e.type)).toEqual(['product.updated', 'stock.low']);
    expect(changed.events[0].data).toMatchObject({ priceCents: 990, lowStockThreshold: 4, changed: ['priceCents', 'lowStockThreshold'] });
    await expect(tx((trx) => updateProduct(trx, dialect, uuidv7(), { name: 'x' }))).rejects.toMatchObject({ status: 404 });
  });

  it('keeps the average rating without flagged reviews, whichever event comes first', async () => {
    const a = await product();
    const review = (rating: number) => ({ reviewId: uuidv7(), productId: a.id, userId: uuidv7(), rating, comment: '' });
    const [r1, r2, r3] = [review(5), review(2), review(1)];
    await tx((trx) => recordReview(trx, r1));
    await tx((trx) => recordReview(trx, r1));
    await tx((trx) => recordReview(trx, r2));
    await tx((trx) => excludeFlagged(trx, { reviewId: r3.reviewId, productId: a.id }));
    await tx((trx) => recordReview(trx, r3));
    expect(productOf((await findProduct(db, a.id))!).rating).toEqual({ average: 3.5, count: 2 });
    await tx((trx) => excludeFlagged(trx, { reviewId: r2.reviewId, productId: a.id }));
    await tx((trx) => excludeFlagged(trx, { reviewId: r2.reviewId, productId: a.id }));
    expect(productOf((await findProduct(db, a.id))!).rating).toEqual({ average: 5, count: 1 });
  });
});
