import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../../../test/support/service-databases.ts';
import type { Dialect } from '../../platform/db.ts';
import { fulfillmentReactions } from './handlers.ts';
import { fulfillmentTables } from './migrations/001_fulfillment.ts';
import { createShipment, deliverShipment, dispatchShipment, forgetOrder, rememberAddress } from './shipments.ts';
import { findShipment, listShipments, shipmentOf, type FulfillmentDatabase, type FulfillmentDb } from './store.ts';

describe.each(DIALECTS)('shipments on %s', (dialect: Dialect) => {
  let test: TestDatabase<FulfillmentDatabase>;
  let db: FulfillmentDb;
  beforeAll(async () => {
    test = await openTestDatabase<FulfillmentDatabase>(dialect, 'fulfillment', { '001_fulfillment': fulfillmentTables });
    db = test.database.db;
  });
  afterAll(() => test.cleanup());

  const tx = <T>(fn: (trx: FulfillmentDb) => Promise<T>) => db.transaction().execute(fn);
  const address = { name: 'Ada Lovelace', line1: '1 Analytical St', postalCode: '1000', city: 'London', country: 'GB' };
  const order = () => {
    const orderId = uuidv7();
    const userId = uuidv7();
    const productId = uuidv7();
    const items = [
      { productId, quantity: 1, unitPriceCents: 100 },
      { productId, quantity: 2, unitPriceCents: 100 },
    ];
    return {
      placed: { orderId, userId, items, totalCents: 300, currency: 'EUR', shippingAddress: address },
      confirmed: { orderId, userId, paymentId: uuidv7(), items, totalCents: 300, currency: 'EUR' },
    };
  };

  it('writes the addresses of a batch\'s placed orders together, before a later event of the batch needs one', async () => {
    const [reaction] = fulfillmentReactions();
    type Event = Parameters<typeof reaction.react>[1];
    const event = (type: string, data: object) => ({ id: uuidv7(), type, data }) as unknown as Event;
    const [a, b, c] = [order(), order(), order()];
    const created = await tx(async (trx) => {
      const events = [];
      for (const e of [event('order.placed', a.placed), event('order.placed', b.placed), event('order.confirmed', a.confirmed), event('order.placed', c.placed), event('order.cancelled', { orderId: b.placed.orderId })]) {
        events.push(...(await reaction.react(trx, e)));
      }
      await reaction.finish(trx);
      return events;
    });
    // a ships to its address; b's address was written before its cancellation forgot it; c's waits for its shipment.
    expect(created).toEqual([expect.objectContaining({ type: 'shipment.created', data: expect.objectContaining({ orderId: a.placed.orderId, address }) })]);
    const kept = await db.selectFrom('order_addresses').select('order_id').where('order_id', 'in', [a, b, c].map((o) => o.placed.orderId)).execute();
    expect(kept.map((row) => row.order_id)).toEqual([c.placed.orderId]);
  });

  it('creates one shipment per confirmed order, to the address the order was placed with', async () => {
    const { placed, confirmed } = order();
    await tx((trx) => rememberAddress(trx, placed));
    const events = await tx((trx) => createShipment(trx, confirmed));
    expect(events).toEqual([
      expect.objectContaining({
        type: 'shipment.created',
        data: { shipmentId: expect.any(String), orderId: placed.orderId, userId: placed.userId, items: [{ productId: placed.items[0].productId, quantity: 3 }], address },
      }),
    ]);
    expect(await tx((trx) => createShipment(trx, confirmed))).toEqual([]);
    const { shipments } = await listShipments(db, { orderId: placed.orderId, limit: 10 });
    expect(shipments).toHaveLength(1);
    expect(shipments[0]).toMatchObject({ status: 'created', address });
    // The address is kept on the shipment only.
    expect(await db.selectFrom('order_addresses').selectAll().where('order_id', '=', placed.orderId).execute()).toEqual([]);
  });

  it('moves created → dispatched → delivered and refuses anything else with 409', async () => {
    const { confirmed } = order();
    const [created] = await tx((trx) => createShipment(trx, confirmed));
    const id = (created.data as { shipmentId: string }).shipmentId;
    await expect(tx((trx) => deliverShipment(trx, dialect, id))).rejects.toMatchObject({ status: 409, code: 'invalid_transition' });
    const dispatched = await tx((trx) => dispatchShipment(trx, dialect, id, { carrier: 'DHL' }));
    expect(dispatched.events[0]).toMatchObject({ type: 'shipment.dispatched', data: { shipmentId: id, orderId: confirmed.orderId, carrier: 'DHL', trackingNumber: expect.any(String) } });
    await expect(tx((trx) => dispatchShipment(trx, dialect, id, {}))).rejects.toMatchObject({ status: 409 });
    const delivered = await tx((trx) => deliverShipment(trx, dialect, id));
    expect(delivered.events[0]).toMatchObject({ type: 'shipment.delivered', data: { shipmentId: id, carrier: 'DHL' } });
    await expect(tx((trx) => deliverShipment(trx, dialect, id))).rejects.toMatchObject({ status: 409 });
    expect(shipmentOf((await findShipment(db, id))!)).toMatchObject({ status: 'delivered', deliveredAt: expect.any(String) });
    await expect(tx((trx) => dispatchShipment(trx, dialect, uuidv7(), {}))).rejects.toMatchObject({ status: 404 });
  });

  it('forgets the address of a cancelled order', async () => {
    const { placed } = order();
    await tx((trx) => rememberAddress(trx, placed));
    await tx((trx) => forgetOrder(trx, placed.orderId));
    expect(await db.selectFrom('order_addresses').selectAll().where('order_id', '=', placed.orderId).execute()).toEqual([]);
  });
});
