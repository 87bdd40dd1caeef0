import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { DIALECTS, uniqueName } from '../../../test/support/service-databases.ts';
import { startServiceServer, waitUntil, type ServiceServer, type StoredEvent } from '../../../test/support/service-server.ts';
import type { Dialect } from '../../platform/db.ts';
import { cartsService } from './index.ts';

describe.each(DIALECTS)('carts service on %s', (dialect: Dialect) => {
  let server: ServiceServer;
  const schemas = [uniqueName('carts')];
  let mug: { id: string; number: number };
  let tea: { id: string; number: number };
  let token: string;
  const userId = uuidv7();
  /** What the catalog publishes about a product (the webshop keeps a replica from it). */
  const productState = (number: number, sku: string, priceCents: number) => ({
    productId: uuidv7(),
    number,
    sku: `${sku}-${uuidv7()}`,
    name: sku,
    priceCents,
    currency: 'EUR',
    onHand: 50,
    lowStockThreshold: 0,
    active: true,
  });
  const mugState = productState(101, 'MUG', 1250);
  beforeAll(async () => {
    server = await startServiceServer(dialect, [cartsService({ databaseName: schemas[0] })]);
    const teaState = productState(102, 'TEA', 400);
    for (const data of [mugState, teaState]) await server.flamingo.bus.publish({ type: 'product.created', data });
    mug = { id: mugState.productId, number: mugState.number };
    tea = { id: teaState.productId, number: teaState.number };
    token = await server.tokens.sign({ userId, email: 'ada@example.test' });
    await server.drained('carts.products');
  });
  afterAll(() => server.stopAndDrop(schemas));

  const as = (t: string | null) => ({ key: t });
  const newCart = async (t: string | null = token) => {
    const response = await server.request('POST', '/v1/carts', { ...as(t), body: {} });
    expect(response.status).toBe(201);
    return response.body.id as string;
  };
  const ofCart = (cartId: string) => (events: StoredEvent[]) => events.filter((e) => e.data.cartId === cartId);

  it('starts carts for the customer of the token, or a guest; refuses a bad token', async () => {
    expect((await server.request('POST', '/v1/carts', { ...as(token), body: {} })).body).toMatchObject({ userId, status: 'open', items: [], totalCents: 0 });
    const guest = await server.request('POST', '/v1/carts', { key: null });
    expect(guest.status).toBe(201);
    expect(guest.body.userId).toBeUndefined();
    expect((await server.request('POST', '/v1/carts', { key: 'not-a-token', body: {} })).status).toBe(401);
    const badUser = await server.request('POST', '/v1/carts', { key: null, body: { userId: 'bob' } });
    expect(badUser.status).toBe(400);
    expect(badUser.body.detail[0].path).toBe('/body/userId');
  });

  it('answers bad items with 4xx naming the field, and writes nothing', async () => {
    const cartId = await newCart();
    const cases: [Record<string, unknown>, number, string][] = [
      [{ productId: mug.id, quantity: 0 }, 400, '/body/quantity'],
      [{ quantity: 1 }, 400, '/body/productId'],
      [{ productId: mug.id, quantity: 'two' }, 400, '/body/quantity'],
      [{ productId: uuidv7(), quantity: 1 }, 422, '/body/productId'],
      [{ productId: mug.id, quantity: 1000 }, 400, '/body/quantity'],
    ];
    for (const [body, status, path] of cases) {
      const response = await server.request('POST', `/v1/carts/${cartId}/items`, { ...as(token), body });
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect(response.body.detail.map((d: { path: string }) => d.path)).toContain(path);
    }
    expect((await server.request('POST', `/v1/carts/${uuidv7()}/items`, { ...as(token), body: { productId: mug.id } })).status).toBe(404);
    expect((await server.request('GET', `/v1/carts/${cartId}`)).body.items).toEqual([]);
    expect(ofCart(cartId)(await server.events('cart.*'))).toEqual([]);
  });

  it('adds and removes items with cart events carrying the seed fields and the whole cart', async () => {
    const cartId = await newCart();
    const add = (productId: string, quantity: number) => server.request('POST', `/v1/carts/${cartId}/items`, { ...as(token), body: { productId, quantity } });
    expect((await add(mug.id, 2)).status).toBe(200);
    const cart = (await add(tea.id, 1)).body;
    expect(cart).toMatchObject({ totalCents: 2 * 1250 + 400, currency: 'EUR', items: [{ productId: mug.id, quantity: 2 }, { productId: tea.id, quantity: 1 }] });
    const removed = await server.request('DELETE', `/v1/carts/${cartId}/items/${mug.id}`, as(token));
    expect(removed.body.items).toEqual([expect.objectContaining({ productId: tea.id })]);
    expect((await server.request('DELETE', `/v1/carts/${cartId}/items/${mug.id}`, as(token))).status).toBe(404);
    const events = ofCart(cartId)(await server.waitForEvents('cart.*', (all) => ofCart(cartId)(all).length === 3));
    expect(events.map((e) => [e.type, e.data.items, e.data.item])).toEqual([
      ['cart.item_added', [mug.number], mug.number],
      ['cart.item_added', [mug.number, tea.number], tea.number],
      ['cart.item_removed', [tea.number], mug.number],
    ]);
    expect(events[1]).toMatchObject({ subject: `cart/${cartId}`, correlationid: cartId, data: { customer_id: userId, productId: tea.id, quantity: 1 } });
  });

  it('checks out once: 202 with the order id, cart.checked_out with priced lines', async () => {
    const cartId = await newCart();
    await server.request('POST', `/v1/carts/${cartId}/items`, { ...as(token), body: { productId: tea.id, quantity: 3 } });
    const missing = await server.request('POST', `/v1/carts/${cartId}/checkout`, { ...as(token), body: {} });
    expect(missing.status).toBe(400);
    expect(missing.body.detail[0].path).toBe('/body/paymentToken');
    const stranger = await server.request('POST', `/v1/carts/${cartId}/checkout`, { ...as(await server.tokens.sign({ userId: uuidv7(), email: 'x@example.test' })), body: { paymentToken: 'tok_ok' } });
    expect(stranger.status).toBe(403);
    const done = await server.request('POST', `/v1/carts/${cartId}/checkout`, { ...as(token), body: { paymentToken: 'tok_ok' } });
    expect(done).toMatchObject({ status: 202, body: { orderId: expect.any(String), cartId, status: 'pending', totalCents: 1200, currency: 'EUR' } });
    const again = await server.request('POST', `/v1/carts/${cartId}/checkout`, { ...as(token), body: { paymentToken: 'tok_ok' } });
    expect(again.status).toBe(409);
    const [checkedOut] = ofCart(cartId)(await server.waitForEvents('cart.checked_out', (all) => ofCart(cartId)(all).length > 0));
    expect(checkedOut.data).toEqual({
      cartId,
      orderId: done.body.orderId,
      userId,
      items: [{ productId: tea.id, quantity: 3, unitPriceCents: 400, sku: expect.stringMatching(/^TEA-/), name: 'TEA' }],
      totalCents: 1200,
      currency: 'EUR',
      // A secret of the catalog: masked on the way out (GET /v1/events) …
      paymentToken: '[redacted]',
    });
    // … while the log keeps it for the subscription it is meant for.
    const [stored] = await server.flamingo.bus.read({ types: ['cart.checked_out'], subject: checkedOut.subject, limit: 1 });
    expect(stored.data).toMatchObject({ cartId, paymentToken: 'tok_ok' });
    expect((await server.request('GET', `/v1/carts/${cartId}`)).body).toMatchObject({ status: 'checked_out', orderId: done.body.orderId });
    const guestCart = await newCart(null);
    await server.request('POST', `/v1/carts/${guestCart}/items`, { key: null, body: { productId: tea.id } });
    const anonymous = await server.request('POST', `/v1/carts/${guestCart}/checkout`, { key: null, body: { paymentToken: 'tok_ok' } });
    expect(anonymous).toMatchObject({ status: 422, body: { detail: [{ path: '/body/userId' }] } });
    // A guest cart is not a dead end: the customer who signs in checks it out as theirs.
    const signedIn = await server.request('POST', `/v1/carts/${guestCart}/checkout`, { ...as(token), body: { paymentToken: 'tok_ok' } });
    expect(signedIn).toMatchObject({ status: 202, body: { cartId: guestCart, status: 'pending' } });
    expect((await server.request('GET', `/v1/carts/${guestCart}`, as(token))).body).toMatchObject({ userId, status: 'checked_out', orderId: signedIn.body.orderId });
  });

  it('a guest cart is open to whoever holds its id; a customer’s cart only to them (or the admin, to read)', async () => {
    const guestCart = await newCart(null);
    expect((await server.request('POST', `/v1/carts/${guestCart}/items`, { key: null, body: { productId: tea.id } })).status).toBe(200);
    expect((await server.request('GET', `/v1/carts/${guestCart}`, { key: null })).body).toMatchObject({ id: guestCart, items: [{ productId: tea.id }] });

    const cartId = await newCart();
    expect((await server.request('GET', `/v1/carts/${cartId}`, as(token))).body).toMatchObject({ id: cartId, userId });
    expect((await server.request('GET', `/v1/carts/${cartId}`)).status).toBe(200);
    const anonymous = await server.request('GET', `/v1/carts/${cartId}`, { key: null });
    expect(anonymous).toMatchObject({ status: 401, body: { error: 'unauthorized', message: expect.any(String) } });
    expect((await server.request('GET', `/v1/carts/${cartId}`, { key: 'not-a-token' })).status).toBe(401);
    const other = await server.tokens.sign({ userId: uuidv7(), email: 'eve@example.test' });
    expect((await server.request('GET', `/v1/carts/${cartId}`, as(other))).body).toMatchObject({ error: 'forbidden' });

    // Changing a customer's cart takes their token too; nothing is changed or published without it.
    const add = await server.request('POST', `/v1/carts/${cartId}/items`, { key: null, body: { productId: tea.id } });
    expect(add).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
    expect((await server.request('DELETE', `/v1/carts/${cartId}/items/${tea.id}`, { key: null })).status).toBe(401);
    expect((await server.request('POST', `/v1/carts/${cartId}/checkout`, { key: null, body: { paymentToken: 'tok_ok', userId } })).status).toBe(401);
    expect((await server.request('GET', `/v1/carts/${cartId}`, as(token))).body).toMatchObject({ status: 'open', items: [] });
    expect(ofCart(cartId)(await server.events('cart.*'))).toEqual([]);
  });

  it('prices carts from the catalog replica, and replaying the catalog changes nothing', async () => {
    const cartId = await newCart();
    await server.request('POST', `/v1/carts/${cartId}/items`, { ...as(token), body: { productId: mug.id, quantity: 1 } });
    await server.flamingo.bus.publish({ type: 'product.updated', data: { ...mugState, priceCents: 990, changed: ['priceCents'] } });
    await waitUntil(async () => ((await server.request('GET', `/v1/carts/${cartId}`)).body.totalCents === 990 ? true : undefined));
    await server.drained('carts.products');
    await server.flamingo.bus.rewind('carts.products', 'beginning');
    await server.drained('carts.products');
    expect((await server.request('GET', `/v1/carts/${cartId}`)).body.totalCents).toBe(990);
  });
});
