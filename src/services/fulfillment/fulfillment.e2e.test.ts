import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { DIALECTS, uniqueName } from '../../../test/support/service-databases.ts';
import { startServiceServer, type ServiceServer, type StoredEvent } from '../../../test/support/service-server.ts';
import type { Dialect } from '../../platform/db.ts';
import { fulfillmentService } from './index.ts';

describe.each(DIALECTS)('fulfillment service on %s', (dialect: Dialect) => {
  let server: ServiceServer;
  const schema = uniqueName('fulfillment');
  beforeAll(async () => {
    server = await startServiceServer(dialect, [fulfillmentService({ databaseName: schema })]);
  });
  afterAll(() => server.stopAndDrop([schema]));

  const address = { name: 'Ada Lovelace', line1: '1 Analytical St', postalCode: 'N1 9GU', city: 'London', country: 'GB' };
  const ofOrder = (orderId: string) => (events: StoredEvent[]) => events.filter((e) => e.data.orderId === orderId);

  /** Places and confirms an order on the bus; resolves to its shipment once created. */
  const confirmedOrder = async () => {
    const orderId = uuidv7();
    const userId = uuidv7();
    const productId = uuidv7();
    const items = [{ productId, quantity: 2, unitPriceCents: 500 }];
    await server.flamingo.bus.publish({ type: 'order.placed', data: { orderId, userId, items, totalCents: 1000, currency: 'EUR', shippingAddress: address } });
    const confirmed = { orderId, userId, paymentId: uuidv7(), items, totalCents: 1000, currency: 'EUR' };
    await server.flamingo.bus.publish({ type: 'order.confirmed', data: confirmed });
    const [created] = ofOrder(orderId)(await server.waitForEvents('shipment.created', (all) => ofOrder(orderId)(all).length > 0));
    return { orderId, userId, productId, confirmed, shipmentId: created.data.shipmentId as string, created };
  };

  it('creates one shipment per confirmed order, to the address it was placed with, even when the confirmation comes twice', async () => {
    const order = await confirmedOrder();
    expect(order.created).toMatchObject({
      subject: `order/${order.orderId}`,
      data: { orderId: order.orderId, userId: order.userId, items: [{ productId: order.productId, quantity: 2 }], address },
    });
    await server.flamingo.bus.publish({ type: 'order.confirmed', data: order.confirmed });
    await server.drained('fulfillment.shipments');
    await server.flamingo.bus.rewind('fulfillment.shipments', 'beginning');
    await server.drained('fulfillment.shipments');
    expect(ofOrder(order.orderId)(await server.events('shipment.created'))).toHaveLength(1);
    const listed = await server.request('GET', `/v1/shipments?orderId=${order.orderId}`);
    expect(listed.body.shipments).toEqual([expect.objectContaining({ id: order.shipmentId, status: 'created', address })]);
  });

  it('dispatches and delivers with the admin key; a wrong transition is 409 and bad input 400, writing nothing', async () => {
    const { shipmentId, orderId } = await confirmedOrder();
    const post = (action: string, body?: unknown, key?: string | null) => server.request('POST', `/v1/shipments/${shipmentId}/${action}`, { body, key });
    expect((await post('dispatch', {}, null)).status).toBe(401);
    expect((await post('dispatch', {}, await server.tokens.sign({ userId: uuidv7(), email: 'a@example.test' }))).status).toBe(403);
    const bad = await post('dispatch', { carrier: '' });
    expect(bad.status).toBe(400);
    expect(bad.body.detail[0].path).toBe('/body/carrier');
    const early = await post('deliver');
    expect(early).toMatchObject({ status: 409, body: { error: 'invalid_transition' } });
    expect((await server.request('GET', `/v1/shipments/${shipmentId}`)).body.status).toBe('created');

    const dispatched = await post('dispatch');
    expect(dispatched).toMatchObject({ status: 200, body: { status: 'dispatched', carrier: 'flamingo-post', trackingNumber: expect.any(String) } });
    expect((await post('dispatch', { carrier: 'DHL' })).status).toBe(409);
    expect((await post('deliver')).body).toMatchObject({ status: 'delivered', deliveredAt: expect.any(String) });
    expect((await post('deliver')).status).toBe(409);
    expect((await server.request('POST', `/v1/shipments/${uuidv7()}/deliver`)).status).toBe(404);
    const events = ofOrder(orderId)(await server.waitForEvents('shipment.*', (all) => ofOrder(orderId)(all).length === 3));
    expect(events.map((e) => e.type)).toEqual(['shipment.created', 'shipment.dispatched', 'shipment.delivered']);
    expect(events[1].data).toMatchObject({ shipmentId, carrier: 'flamingo-post', trackingNumber: dispatched.body.trackingNumber });
  });

  it("shows customers their own shipments only", async () => {
    const { shipmentId, userId } = await confirmedOrder();
    const own = await server.tokens.sign({ userId, email: 'own@example.test' });
    const other = await server.tokens.sign({ userId: uuidv7(), email: 'other@example.test' });
    expect((await server.request('GET', `/v1/shipments/${shipmentId}`, { key: own })).status).toBe(200);
    expect((await server.request('GET', `/v1/shipments/${shipmentId}`, { key: other })).status).toBe(404);
    expect((await server.request('GET', '/v1/shipments', { key: own })).body.shipments.map((s: { id: string }) => s.id)).toEqual([shipmentId]);
    expect((await server.request('GET', '/v1/shipments', { key: other })).body.shipments).toEqual([]);
    expect((await server.request('GET', '/v1/shipments', { key: null })).status).toBe(401);
    expect((await server.request('GET', '/v1/shipments?status=lost')).status).toBe(400);
  });

  it('ships no address for a cancelled order', async () => {
    const orderId = uuidv7();
    const userId = uuidv7();
    const items = [{ productId: uuidv7(), quantity: 1, unitPriceCents: 500 }];
    await server.flamingo.bus.publish({ type: 'order.placed', data: { orderId, userId, items, totalCents: 500, currency: 'EUR', shippingAddress: address } });
    await server.flamingo.bus.publish({ type: 'order.cancelled', data: { orderId, userId, reason: 'payment_failed', stockReserved: true } });
    await server.drained('fulfillment.shipments');
    expect((await server.request('GET', `/v1/shipments?orderId=${orderId}`)).body.shipments).toEqual([]);
  });
});
