/**
 * Shipments: one per confirmed order (`order.confirmed`), then dispatched and delivered as a carrier
 * reports it. A status moves forward only: created → dispatched → delivered.
 */
import { randomInt } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import type { EventData } from '../../contracts/index.ts';
import type { Dialect } from '../../platform/db.ts';
import { ApiError, notFound } from '../../platform/errors.ts';
import { FULFILLMENT_SOURCE, type FulfillmentEvent } from './events.ts';
import { lockShipment, type FulfillmentDb, type ShipmentRow, type ShipmentStatus, type StockLine } from './store.ts';

/** The carrier of a dispatch that names none. */
export const DEFAULT_CARRIER = 'flamingo-post';

export interface ShipmentChange {
  readonly row: ShipmentRow;
  readonly events: FulfillmentEvent[];
}

/** Remembers where a placed order goes, for its shipment (the confirmation does not carry the address). */
export async function rememberAddress(trx: FulfillmentDb, order: Pick<EventData<'order.placed'>, 'orderId' | 'shippingAddress'>, now = new Date().toISOString()): Promise<void> {
  await rememberAddresses(trx, [order], now);
}

/** `rememberAddress` for several orders in one statement (an order seen before, or listed twice, keeps its first address). */
export async function rememberAddresses(trx: FulfillmentDb, orders: readonly Pick<EventData<'order.placed'>, 'orderId' | 'shippingAddress'>[], now = new Date().toISOString()): Promise<void> {
  const rows = orders.flatMap((order) => (order.shippingAddress ? [{ order_id: order.orderId, address: JSON.stringify(order.shippingAddress), created_at: now }] : []));
  if (rows.length === 0) return;
  await trx
    .insertInto('order_addresses')
    .values(rows)
    .onConflict((oc) => oc.column('order_id').doNothing())
    .execute();
}

/** A cancelled order will not ship: its address is not kept. */
export async function forgetOrder(trx: FulfillmentDb, orderId: string): Promise<void> {
  await trx.deleteFrom('order_addresses').where('order_id', '=', orderId).execute();
}

/** Creates the order's shipment unless it has one: `shipment.created`. */
export async function createShipment(trx: FulfillmentDb, order: Pick<EventData<'order.confirmed'>, 'orderId' | 'userId' | 'items'>, now = new Date().toISOString()): Promise<FulfillmentEvent[]> {
  const existing = await trx.selectFrom('shipments').select('id').where('order_id', '=', order.orderId).executeTakeFirst();
  if (existing) return [];
  const quantities = new Map<string, number>();
  for (const { productId, quantity } of order.items) quantities.set(productId, (quantities.get(productId) ?? 0) + quantity);
  const items: StockLine[] = [...quantities].map(([productId, quantity]) => ({ productId, quantity }));
  const stored = await trx.selectFrom('order_addresses').select('address').where('order_id', '=', order.orderId).executeTakeFirst();
  const id = uuidv7();
  await trx
    .insertInto('shipments')
    .values({
      id,
      order_id: order.orderId,
      user_id: order.userId,
      status: 'created',
      items: JSON.stringify(items),
      address: stored?.address ?? null,
      carrier: null,
      tracking_number: null,
      created_at: now,
      dispatched_at: null,
      delivered_at: null,
    })
    .execute();
  await forgetOrder(trx, order.orderId);
  const data: EventData<'shipment.created'> = { shipmentId: id, orderId: order.orderId, userId: order.userId, items };
  if (stored) data.address = JSON.parse(stored.address) as EventData<'shipment.created'>['address'];
  return [{ type: 'shipment.created', source: FULFILLMENT_SOURCE, data }];
}

const invalidTransition = (row: ShipmentRow, to: ShipmentStatus) =>
  new ApiError(409, 'invalid_transition', `shipment ${row.id} is ${row.status}; it cannot become ${to}`, [
    { path: '/status', message: to === 'dispatched' ? 'must be created' : 'must be dispatched' },
  ]);

const trackingNumber = () => `FP${String(randomInt(0, 1e9)).padStart(9, '0')}${String(randomInt(0, 1e3)).padStart(3, '0')}`;

export async function dispatchShipment(
  trx: FulfillmentDb,
  dialect: Dialect,
  id: string,
  input: { carrier?: string; trackingNumber?: string },
  now = new Date().toISOString(),
): Promise<ShipmentChange> {
  const before = await lockShipment(trx, dialect, id);
  if (!before) throw notFound(`no shipment ${id}`);
  if (before.status !== 'created') throw invalidTransition(before, 'dispatched');
  const carrier = input.carrier ?? DEFAULT_CARRIER;
  const tracking = input.trackingNumber ?? trackingNumber();
  await trx.updateTable('shipments').set({ status: 'dispatched', carrier, tracking_number: tracking, dispatched_at: now }).where('id', '=', id).execute();
  const row: ShipmentRow = { ...before, status: 'dispatched', carrier, tracking_number: tracking, dispatched_at: now };
  return {
    row,
    events: [
      {
        type: 'shipment.dispatched',
        source: FULFILLMENT_SOURCE,
        data: { shipmentId: id, orderId: row.order_id, userId: row.user_id, carrier, trackingNumber: tracking },
      },
    ],
  };
}

export async function deliverShipment(trx: FulfillmentDb, dialect: Dialect, id: string, now = new Date().toISOString()): Promise<ShipmentChange> {
  const before = await lockShipment(trx, dialect, id);
  if (!before) throw notFound(`no shipment ${id}`);
  if (before.status !== 'dispatched') throw invalidTransition(before, 'delivered');
  await trx.updateTable('shipments').set({ status: 'delivered', delivered_at: now }).where('id', '=', id).execute();
  const row: ShipmentRow = { ...before, status: 'delivered', delivered_at: now };
  return {
    row,
    events: [
      {
        type: 'shipment.delivered',
        source: FULFILLMENT_SOURCE,
        data: { shipmentId: id, orderId: row.order_id, userId: row.user_id, ...(row.carrier === null ? {} : { carrier: row.carrier }) },
      },
    ],
  };
}
