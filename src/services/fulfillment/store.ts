import type { Kysely, Selectable } from 'kysely';
import type { EventData } from '../../contracts/index.ts';
import type { Dialect } from '../../platform/db.ts';

export type ShipmentStatus = 'created' | 'dispatched' | 'delivered';
export type Address = NonNullable<EventData<'shipment.created'>['address']>;
export type StockLine = EventData<'shipment.created'>['items'][number];

export interface ShipmentsTable {
  id: string;
  order_id: string;
  user_id: string;
  status: ShipmentStatus;
  /** JSON: the lines in the parcel. */
  items: string;
  /** JSON address, or null when the order carried none. */
  address: string | null;
  carrier: string | null;
  tracking_number: string | null;
  created_at: string;
  dispatched_at: string | null;
  delivered_at: string | null;
}

export interface OrderAddressesTable {
  order_id: string;
  address: string;
  created_at: string;
}

export interface FulfillmentDatabase {
  shipments: ShipmentsTable;
  order_addresses: OrderAddressesTable;
}

export type FulfillmentDb = Kysely<FulfillmentDatabase>;
export type ShipmentRow = Selectable<ShipmentsTable>;

/** A shipment as the HTTP API shows it. */
export interface Shipment {
  readonly id: string;
  readonly orderId: string;
  readonly userId: string;
  readonly status: ShipmentStatus;
  readonly items: StockLine[];
  readonly address?: Address;
  readonly carrier?: string;
  readonly trackingNumber?: string;
  readonly createdAt: string;
  readonly dispatchedAt?: string;
  readonly deliveredAt?: string;
}

export function shipmentOf(row: ShipmentRow): Shipment {
  return {
    id: row.id,
    orderId: row.order_id,
    userId: row.user_id,
    status: row.status,
    items: JSON.parse(row.items) as StockLine[],
    ...(row.address === null ? {} : { address: JSON.parse(row.address) as Address }),
    ...(row.carrier === null ? {} : { carrier: row.carrier }),
    ...(row.tracking_number === null ? {} : { trackingNumber: row.tracking_number }),
    createdAt: row.created_at,
    ...(row.dispatched_at === null ? {} : { dispatchedAt: row.dispatched_at }),
    ...(row.delivered_at === null ? {} : { deliveredAt: row.delivered_at }),
  };
}

export async function findShipment(db: FulfillmentDb, id: string): Promise<ShipmentRow | undefined> {
  return db.selectFrom('shipments').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The row, locked until the transaction ends on PostgreSQL. */
export async function lockShipment(trx: FulfillmentDb, dialect: Dialect, id: string): Promise<ShipmentRow | undefined> {
  let query = trx.selectFrom('shipments').selectAll().where('id', '=', id);
  if (dialect === 'postgres') query = query.forUpdate();
  return query.executeTakeFirst();
}

export interface ShipmentQuery {
  readonly orderId?: string;
  readonly userId?: string;
  readonly status?: ShipmentStatus;
  readonly limit: number;
  readonly after?: string;
}

export async function listShipments(db: FulfillmentDb, query: ShipmentQuery): Promise<{ shipments: Shipment[]; next?: string }> {
  let q = db.selectFrom('shipments').selectAll().orderBy('id').limit(query.limit + 1);
  if (query.orderId !== undefined) q = q.where('order_id', '=', query.orderId);
  if (query.userId !== undefined) q = q.where('user_id', '=', query.userId);
  if (query.status !== undefined) q = q.where('status', '=', query.status);
  if (query.after !== undefined) q = q.where('id', '>', query.after);
  const rows = await q.execute();
  const shipments = rows.slice(0, query.limit).map(shipmentOf);
  return rows.length > query.limit ? { shipments, next: shipments[shipments.length - 1].id } : { shipments };
}
