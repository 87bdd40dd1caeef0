import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { DIALECTS, uniqueName } from '../../../test/support/service-databases.ts';
import { startServiceServer, type ServiceServer, type StoredEvent } from '../../../test/support/service-server.ts';
import type { Dialect } from '../../platform/db.ts';
import { catalogService } from './index.ts';

describe.each(DIALECTS)('catalog service on %s', (dialect: Dialect) => {
  let server: ServiceServer;
  const schema = uniqueName('catalog');
  beforeAll(async () => {
    server = await startServiceServer(dialect, [catalogService({ databaseName: schema })]);
  });
  afterAll(() => server.stopAndDrop([schema]));

  const create = (body: Record<string, unknown>) => server.request('POST', '/v1/products', { body });
  const product = async (body: Record<string, unknown> = {}) => {
    const response = await create({ sku: `SKU-${uuidv7()}`, name: 'Flamingo mug', priceCents: 1250, onHand: 10, ...body });
    expect(response.status).toBe(201);
    return response.body as { id: string; number: number; onHand: number };
  };
  const placeOrder = async (items: { productId: string; quantity: number }[], id = uuidv7()) => {
    const orderId = uuidv7();
    await server.flamingo.bus.publish({
      id,
      type: 'order.placed',
      data: { orderId, userId: uuidv7(), items: items.map((i) => ({ ...i, unitPriceCents: 1250 })), totalCents: 1250, currency: 'EUR' },
    });
    return orderId;
  };
  const ofOrder = (orderId: string) => (events: StoredEvent[]) => events.filter((e) => e.data.orderId === orderId);

  it('creates a product (admin only) and publishes product.created with price, name, sku and threshold', async () => {
    expect((await server.request('POST', '/v1/products', { key: null, body: { sku: 'X', name: 'x', priceCents: 1 } })).status).toBe(401);
    const created = await product({ lowStockThreshold: 3 });
    const events = await server.waitForEvents('product.created', (all) => all.some((e) => e.data.productId === created.id));
    expect(events.find((e) => e.data.productId === created.id)).toMatchObject({
      subject: `product/${created.id}`,
      data: { productId: created.id, number: created.number, name: 'Flamingo mug', priceCents: 1250, currency: 'EUR', onHand: 10, lowStockThreshold: 3, active: true },
    });
    const read = await server.request('GET', `/v1/products/${created.id}`, { key: null });
    expect(read.body).toMatchObject({ id: created.id, onHand: 10, rating: { average: null, count: 0 } });
  });

  it('answers bad input with 4xx naming the field, and writes nothing', async () => {
    const before = (await server.events('product.*')).length;
    const cases: [Record<string, unknown>, string][] = [
      [{ name: 'x', priceCents: 1 }, '/body/sku'],
      [{ sku: 'A', name: 'x', priceCents: -1 }, '/body/priceCents'],
      [{ sku: 'A', name: '', priceCents: 1 }, '/body/name'],
      [{ sku: 'A', name: 'x', priceCents: 1, currency: 'euro' }, '/body/currency'],
    ];
    for (const [body, path] of cases) {
      const response = await create(body);
      expect(response.status).toBe(400);
      expect(response.body.detail.map((d: { path: string }) => d.path)).toContain(path);
    }
    const p = await product();
    const taken = await create({ sku: (await server.request('GET', `/v1/products/${p.id}`)).body.sku, name: 'x', priceCents: 1 });
    expect(taken).toMatchObject({ status: 409, body: { error: 'sku_taken', detail: [{ path: '/body/sku' }] } });
    const patch = await server.request('PATCH', `/v1/products/${p.id}`, { body: {} });
    expect(patch.status).toBe(400);
    const below = await server.request('POST', `/v1/products/${p.id}/stock`, { body: { delta: -11, reason: 'damaged' } });
    expect(below).toMatchObject({ status: 409, body: { error: 'insufficient_stock', detail: [{ path: '/body/delta' }] } });
    const badReason = await server.request('POST', `/v1/products/${p.id}/stock`, { body: { delta: 1, reason: 'gift' } });
    expect(badReason.status).toBe(400);
    expect((await server.request('POST', `/v1/products/${uuidv7()}/stock`, { body: { delta: 1, reason: 'restock' } })).status).toBe(404);
    expect((await server.request('GET', `/v1/products/${p.id}`)).body.onHand).toBe(10);
    await server.waitForEvents('product.*', (all) => all.length === before + 1);
    expect(await server.events('stock.adjusted')).toEqual([]);
  });

  it('adjusts stock with stock.adjusted, and stock.low once on the crossing', async () => {
    const p = await product({ onHand: 6, lowStockThreshold: 4 });
    for (const delta of [-1, -1, -1]) {
      expect((await server.request('POST', `/v1/products/${p.id}/stock`, { body: { delta, reason: 'damaged' } })).status).toBe(200);
    }
    const adjusted = await server.waitForEvents('stock.adjusted', (all) => all.filter((e) => e.data.productId === p.id).length === 3);
    expect(adjusted.filter((e) => e.data.productId === p.id).map((e) => e.data.onHand)).toEqual([5, 4, 3]);
    const low = (await server.waitForEvents('stock.low', (all) => all.some((e) => e.data.productId === p.id))).filter((e) => e.data.productId === p.id);
    expect(low.map((e) => e.data)).toEqual([{ productId: p.id, sku: expect.any(String), name: 'Flamingo mug', onHand: 4, threshold: 4 }]);
  });

  it('reserves an order all or nothing, and a redelivered order.placed reserves nothing more', async () => {
    const a = await product({ onHand: 5 });
    const b = await product({ onHand: 1 });
    const short = await placeOrder([
      { productId: a.id, quantity: 1 },
      { productId: b.id, quantity: 2 },
    ]);
    const ok = await placeOrder([{ productId: a.id, quantity: 2 }]);
    const outcome = await server.waitForEvents('stock.*', (all) => ofOrder(short)(all).length === 1 && ofOrder(ok)(all).length === 1);
    expect(ofOrder(short)(outcome)[0]).toMatchObject({
      type: 'stock.reservation_failed',
      data: { productId: b.id, requested: 2, available: 1, reason: 'insufficient_stock' },
    });
    const reserved = ofOrder(ok)(outcome)[0];
    expect(reserved).toMatchObject({ type: 'stock.reserved', subject: `order/${ok}`, data: { items: [{ productId: a.id, quantity: 2 }] } });
    expect(reserved.causationid).toBeDefined();
    expect((await server.request('GET', `/v1/products/${a.id}`)).body.onHand).toBe(3);

    // Deliver every order event again: the inbox makes each one count once.
    await server.drained('catalog.stock');
    await server.flamingo.bus.rewind('catalog.stock', 'beginning');
    await server.drained('catalog.stock');
    const after = await server.events('stock.*');
    expect(ofOrder(ok)(after)).toHaveLength(1);
    expect(ofOrder(short)(after)).toHaveLength(1);
    expect((await server.request('GET', `/v1/products/${a.id}`)).body.onHand).toBe(3);
  });

  it('releases what a cancelled order held, once', async () => {
    const a = await product({ onHand: 4 });
    const orderId = await placeOrder([{ productId: a.id, quantity: 3 }]);
    await server.waitForEvents('stock.reserved', (all) => ofOrder(orderId)(all).length === 1);
    const cancel = { orderId, userId: uuidv7(), reason: 'payment_failed' as const, stockReserved: true };
    await server.flamingo.bus.publish({ type: 'order.cancelled', data: cancel });
    await server.flamingo.bus.publish({ type: 'order.cancelled', data: cancel });
    const released = await server.waitForEvents('stock.released', (all) => ofOrder(orderId)(all).length >= 1);
    await server.drained('catalog.stock');
    expect(ofOrder(orderId)(await server.events('stock.released'))).toHaveLength(1);
    expect(ofOrder(orderId)(released)[0].data).toEqual({ orderId, items: [{ productId: a.id, quantity: 3 }], reason: 'order_cancelled' });
    expect((await server.request('GET', `/v1/products/${a.id}`)).body.onHand).toBe(4);
  });

  it('shows the average rating from reviews, without flagged ones', async () => {
    const a = await product();
    const review = (rating: number) => ({ reviewId: uuidv7(), productId: a.id, userId: uuidv7(), rating, comment: '' });
    const spam = review(5);
    await server.flamingo.bus.publish({ type: 'product.reviewed', data: review(4) });
    await server.flamingo.bus.publish({ type: 'product.reviewed', data: review(2) });
    await server.flamingo.bus.publish({ type: 'product.reviewed', data: spam });
    await server.flamingo.bus.publish({ type: 'review.flagged', data: { reviewId: spam.reviewId, productId: a.id, reasons: ['link'] } });
    const until = Date.now() + 5000;
    let body;
    do {
      body = (await server.request('GET', `/v1/products/${a.id}`)).body;
      if (body.rating.count === 2) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    } while (Date.now() < until);
    expect(body.rating).toEqual({ average: 3, count: 2 });
  });

  it('lists products page by page and changes them with product.updated', async () => {
    const a = await product();
    const patched = await server.request('PATCH', `/v1/products/${a.id}`, { body: { priceCents: 990, name: 'Big mug' } });
    expect(patched).toMatchObject({ status: 200, body: { priceCents: 990, name: 'Big mug' } });
    const updated = await server.waitForEvents('product.updated', (all) => all.some((e) => e.data.productId === a.id));
    expect(updated.find((e) => e.data.productId === a.id)!.data).toMatchObject({ priceCents: 990, name: 'Big mug', changed: ['name', 'priceCents'] });
    const first = await server.request('GET', '/v1/products?limit=2', { key: null });
    expect(first.body.products).toHaveLength(2);
    const second = await server.request('GET', `/v1/products?limit=2&after=${first.body.next}`, { key: null });
    expect(second.body.products[0].id > first.body.products[1].id).toBe(true);
  });
});
