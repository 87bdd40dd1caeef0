import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../../../test/support/service-databases.ts';
import type { Dialect } from '../../platform/db.ts';
import { addItem, checkout, createCart, removeItem } from './carts.ts';
import { cartsTables } from './migrations/001_carts.ts';
import { applyProduct } from './replica.ts';
import { findCart, type CartsDatabase, type CartsDb } from './store.ts';

describe.each(DIALECTS)('carts on %s', (dialect: Dialect) => {
  let test: TestDatabase<CartsDatabase>;
  let db: CartsDb;
  const mug = { productId: uuidv7(), number: 7, sku: 'MUG', name: 'Mug', priceCents: 1250, currency: 'EUR', onHand: 5, lowStockThreshold: 0, active: true };
  const tea = { ...mug, productId: uuidv7(), number: 8, sku: 'TEA', name: 'Tea', priceCents: 400 };
  beforeAll(async () => {
    test = await openTestDatabase<CartsDatabase>(dialect, 'carts', { '001_carts': cartsTables });
    db = test.database.db;
    const at = new Date().toISOString();
    await applyProduct(db, mug, at);
    await applyProduct(db, tea, at);
  });
  afterAll(() => test.cleanup());

  const tx = <T>(fn: (trx: CartsDb) => Promise<T>) => db.transaction().execute(fn);

  it('adds and removes items, each change carrying the whole cart in seed and rich form', async () => {
    const userId = uuidv7();
    const { cart } = await tx((trx) => createCart(trx, userId));
    const first = await tx((trx) => addItem(trx, dialect, cart.id, { productId: mug.productId, quantity: 2 }, {}));
    expect(first.events[0]).toMatchObject({
      type: 'cart.item_added',
      data: { cartId: cart.id, customer_id: userId, items: [7], item: 7, productId: mug.productId, quantity: 2, lines: [{ productId: mug.productId, number: 7, quantity: 2 }] },
    });
    await tx((trx) => addItem(trx, dialect, cart.id, { productId: tea.productId, quantity: 1 }, {}));
    const third = await tx((trx) => addItem(trx, dialect, cart.id, { productId: mug.productId, quantity: 1 }, {}));
    expect(third.events[0].data).toMatchObject({ items: [7, 8], item: 7, quantity: 1, lines: [{ quantity: 3 }, { quantity: 1 }] });
    expect(third.cart.totalCents).toBe(3 * 1250 + 400);
    const removed = await tx((trx) => removeItem(trx, dialect, cart.id, mug.productId, {}));
    expect(removed.events[0]).toMatchObject({ type: 'cart.item_removed', data: { items: [8], item: 7, quantity: 3, lines: [{ productId: tea.productId, quantity: 1 }] } });
    await expect(tx((trx) => removeItem(trx, dialect, cart.id, mug.productId, {}))).rejects.toMatchObject({ status: 404 });
  });

  it('refuses unknown and inactive products and another customer', async () => {
    const { cart } = await tx((trx) => createCart(trx, uuidv7()));
    await expect(tx((trx) => addItem(trx, dialect, cart.id, { productId: uuidv7(), quantity: 1 }, {}))).rejects.toMatchObject({
      status: 422,
      detail: [{ path: '/body/productId' }],
    });
    const gone = { ...mug, productId: uuidv7(), sku: 'GONE', active: false };
    await applyProduct(db, gone, new Date().toISOString());
    await expect(tx((trx) => addItem(trx, dialect, cart.id, { productId: gone.productId, quantity: 1 }, {}))).rejects.toMatchObject({ status: 422 });
    await expect(tx((trx) => addItem(trx, dialect, cart.id, { productId: mug.productId, quantity: 1 }, { userId: uuidv7() }))).rejects.toMatchObject({ status: 403 });
    expect((await findCart(db, cart.id))!.items).toEqual([]);
  });

  it('checks out once into an order id, with priced lines', async () => {
    const userId = uuidv7();
    const { cart } = await tx((trx) => createCart(trx, undefined));
    await expect(tx((trx) => checkout(trx, dialect, cart.id, { paymentToken: 'tok_ok' }, { userId }))).rejects.toMatchObject({ status: 422, code: 'cart_empty' });
    await tx((trx) => addItem(trx, dialect, cart.id, { productId: tea.productId, quantity: 3 }, {}));
    await expect(tx((trx) => checkout(trx, dialect, cart.id, { paymentToken: 'tok_ok' }, {}))).rejects.toMatchObject({
      status: 422,
      detail: [{ path: '/body/userId' }],
    });
    const done = await tx((trx) => checkout(trx, dialect, cart.id, { paymentToken: 'tok_ok' }, { userId }));
    expect(done.events[0]).toMatchObject({
      type: 'cart.checked_out',
      data: {
        cartId: cart.id,
        orderId: done.cart.orderId,
        userId,
        items: [{ productId: tea.productId, quantity: 3, unitPriceCents: 400, sku: 'TEA', name: 'Tea' }],
        totalCents: 1200,
        currency: 'EUR',
        paymentToken: 'tok_ok',
      },
    });
    await expect(tx((trx) => checkout(trx, dialect, cart.id, { paymentToken: 'tok_ok' }, { userId }))).rejects.toMatchObject({ status: 409 });
    await expect(tx((trx) => addItem(trx, dialect, cart.id, { productId: tea.productId, quantity: 1 }, {}))).rejects.toMatchObject({ status: 409 });
  });

  it('follows price changes of the catalog until checkout', async () => {
    const { cart } = await tx((trx) => createCart(trx, uuidv7()));
    await tx((trx) => addItem(trx, dialect, cart.id, { productId: mug.productId, quantity: 1 }, {}));
    await applyProduct(db, { ...mug, priceCents: 999 }, new Date().toISOString());
    expect((await findCart(db, cart.id))!.totalCents).toBe(999);
    await applyProduct(db, mug, new Date().toISOString());
  });
});
