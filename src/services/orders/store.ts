import type { Kysely, Selectable } from 'kysely';
import type { CancellationReason, LineItem, OrderState, OrderStatus, ShipmentStatus } from './saga.ts';

export interface OrdersTable {
  id: string;
  user_id: string;
  status: OrderStatus;
  /** JSON of the priced lines. */
  items: string;
  total_cents: number | string | bigint;
  currency: string;
  stock_reserved: number;
  payment_id: string | null;
  cancel_reason: CancellationReason | null;
  cancel_detail: string | null;
  /** JSON `{shipmentId: status}`. */
  shipments: string;
  /** The cart the order came from, when it was checked out of one. */
  cart_id: string | null;
  /** Bumped by every save: two writers of one order cannot both win (optimistic concurrency). */
  version: number;
  created_at: string;
  updated_at: string;
}

export interface OrderHistoryTable {
  order_id: string;
  position: number;
  status: OrderStatus;
  at: string;
  event_id: string;
  event_type: string;
}

/** Replica of the users context (from `user.*`): just what placing an order needs to know. */
export interface CustomersTable {
  id: string;
  banned: number;
  updated_at: string;
}

/** Replica of the catalog's products (from `product.created` / `product.updated`). */
export interface ProductsTable {
  id: string;
  sku: string;
  name: string;
  price_cents: number | string | bigint;
  currency: string;
  active: number;
  updated_at: string;
}

export interface OrdersDatabase {
  orders: OrdersTable;
  order_history: OrderHistoryTable;
  customers: CustomersTable;
  products: ProductsTable;
}

/** One step of an order's history: the status it reached, when, and the event that caused it. */
export interface HistoryEntry {
  readonly status: OrderStatus;
  readonly at: string;
  readonly eventId: string;
  readonly eventType: string;
}

export interface StoredOrder {
  readonly state: OrderState;
  readonly version: number;
  readonly cartId?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface Product {
  readonly id: string;
  readonly sku: string;
  readonly name: string;
  readonly priceCents: number;
  readonly currency: string;
  readonly active: boolean;
}

type DB = Kysely<OrdersDatabase>;

/** Another handler changed the order between our read and our write; the delivery is retried. */
export class ConcurrentUpdateError extends Error {
  constructor(orderId: string) {
    super(`order ${orderId} was changed concurrently; retrying`);
    this.name = 'ConcurrentUpdateError';
  }
}

function toStored(row: Selectable<OrdersTable>): StoredOrder {
  const state: OrderState = {
    orderId: row.id,
    userId: row.user_id,
    items: JSON.parse(row.items) as LineItem[],
    totalCents: Number(row.total_cents),
    currency: row.currency,
    status: row.status,
    stockReserved: Number(row.stock_reserved) === 1,
    shipments: JSON.parse(row.shipments) as Record<string, ShipmentStatus>,
    ...(row.payment_id === null ? {} : { paymentId: row.payment_id }),
    ...(row.cancel_reason === null
      ? {}
      : { cancellation: row.cancel_detail === null ? { reason: row.cancel_reason } : { reason: row.cancel_reason, detail: row.cancel_detail } }),
  };
  return { state, version: Number(row.version), createdAt: row.created_at, updatedAt: row.updated_at, ...(row.cart_id === null ? {} : { cartId: row.cart_id }) };
}

function stateColumns(state: OrderState) {
  return {
    status: state.status,
    stock_reserved: state.stockReserved ? 1 : 0,
    payment_id: state.paymentId ?? null,
    cancel_reason: state.cancellation?.reason ?? null,
    cancel_detail: state.cancellation?.detail ?? null,
    shipments: JSON.stringify(state.shipments),
  };
}

export const ordersStore = {
  /** Inserts a new order; `false` when an order with this id exists already (nothing written). */
  async insert(db: DB, state: OrderState, at: string, cartId?: string): Promise<boolean> {
    const inserted = await db
      .insertInto('orders')
      .values({
        id: state.orderId,
        user_id: state.userId,
        items: JSON.stringify(state.items),
        total_cents: state.totalCents,
        currency: state.currency,
        cart_id: cartId ?? null,
        version: 1,
        created_at: at,
        updated_at: at,
        ...stateColumns(state),
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .executeTakeFirst();
    return inserted !== undefined;
  },

  async load(db: DB, id: string): Promise<StoredOrder | undefined> {
    const row = await db.selectFrom('orders').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toStored(row) : undefined;
  },

  /** Writes the new state of an order read at `version`; throws `ConcurrentUpdateError` if someone saved it since. */
  async save(db: DB, state: OrderState, version: number, at: string): Promise<void> {
    const result = await db
      .updateTable('orders')
      .set({ ...stateColumns(state), version: version + 1, updated_at: at })
      .where('id', '=', state.orderId)
      .where('version', '=', version)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) throw new ConcurrentUpdateError(state.orderId);
  },

  async appendHistory(db: DB, orderId: string, entries: readonly HistoryEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const last = await db
      .selectFrom('order_history')
      .select((eb) => eb.fn.max('position').as('position'))
      .where('order_id', '=', orderId)
      .executeTakeFirst();
    const start = last?.position === null || last?.position === undefined ? 0 : Number(last.position) + 1;
    await db
      .insertInto('order_history')
      .values(entries.map((e, i) => ({ order_id: orderId, position: start + i, status: e.status, at: e.at, event_id: e.eventId, event_type: e.eventType })))
      .execute();
  },

  async history(db: DB, orderId: string): Promise<HistoryEntry[]> {
    const rows = await db.selectFrom('order_history').selectAll().where('order_id', '=', orderId).orderBy('position').execute();
    return rows.map((r) => ({ status: r.status, at: r.at, eventId: r.event_id, eventType: r.event_type }));
  },

  /** Orders of a customer that are not paid yet (a ban cancels them). */
  async unpaidOf(db: DB, userId: string): Promise<string[]> {
    const rows = await db
      .selectFrom('orders')
      .select('id')
      .where('user_id', '=', userId)
      .where('status', 'in', ['pending', 'stock_reserved'])
      .where('payment_id', 'is', null)
      .execute();
    return rows.map((r) => r.id);
  },

  async listOf(db: DB, userId: string, limit: number): Promise<StoredOrder[]> {
    const rows = await db.selectFrom('orders').selectAll().where('user_id', '=', userId).orderBy('created_at', 'desc').limit(limit).execute();
    return rows.map(toStored);
  },
};

export const customersStore = {
  /** Records a customer as known (`banned` unchanged when it exists). */
  async known(db: DB, id: string, at: string): Promise<void> {
    await db
      .insertInto('customers')
      .values({ id, banned: 0, updated_at: at })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  },

  async setBanned(db: DB, id: string, banned: boolean, at: string): Promise<void> {
    await db
      .insertInto('customers')
      .values({ id, banned: banned ? 1 : 0, updated_at: at })
      .onConflict((oc) => oc.column('id').doUpdateSet({ banned: banned ? 1 : 0, updated_at: at }))
      .execute();
  },

  async get(db: DB, id: string): Promise<{ banned: boolean } | undefined> {
    const row = await db.selectFrom('customers').select('banned').where('id', '=', id).executeTakeFirst();
    return row ? { banned: Number(row.banned) === 1 } : undefined;
  },
};

export const productsStore = {
  async upsert(db: DB, product: Product, at: string): Promise<void> {
    const values = {
      sku: product.sku,
      name: product.name,
      price_cents: product.priceCents,
      currency: product.currency,
      active: product.active ? 1 : 0,
      updated_at: at,
    };
    await db
      .insertInto('products')
      .values({ id: product.id, ...values })
      .onConflict((oc) => oc.column('id').doUpdateSet(values))
      .execute();
  },

  async byIds(db: DB, ids: readonly string[]): Promise<Map<string, Product>> {
    if (ids.length === 0) return new Map();
    const rows = await db.selectFrom('products').selectAll().where('id', 'in', [...new Set(ids)]).execute();
    return new Map(
      rows.map((r) => [
        r.id,
        { id: r.id, sku: r.sku, name: r.name, priceCents: Number(r.price_cents), currency: r.currency, active: Number(r.active) === 1 },
      ]),
    );
  },
};
