import type { Kysely, Selectable } from 'kysely';
import type { SandboxDatabase } from './sandbox.ts';

/** What payments learned about an order from `order.placed`, and whether it was cancelled since. */
export interface PaymentOrdersTable {
  order_id: string;
  user_id: string;
  amount_cents: number | string | bigint;
  currency: string;
  /** The single-use token until the charge is settled; then null. */
  payment_token: string | null;
  cancel_reason: string | null;
  created_at: string;
}

export type PaymentStatus = 'pending' | 'succeeded' | 'failed';
export type RefundStatus = 'pending' | 'refunded';

/** One charge attempt per order (the primary key), written before the provider is called. */
export interface PaymentsTable {
  order_id: string;
  payment_id: string;
  /** Handed to the provider: the same order is never charged twice. */
  idempotency_key: string;
  user_id: string;
  amount_cents: number | string | bigint;
  currency: string;
  status: PaymentStatus;
  provider_charge_id: string | null;
  error: string | null;
  code: string | null;
  created_at: string;
  settled_at: string | null;
  refund_id: string | null;
  refund_status: RefundStatus | null;
  refund_reason: string | null;
  refunded_at: string | null;
}

export interface PaymentsDatabase extends SandboxDatabase {
  payment_orders: PaymentOrdersTable;
  payments: PaymentsTable;
}

type DB = Kysely<PaymentsDatabase>;

export interface PaymentOrder {
  readonly orderId: string;
  readonly userId: string;
  readonly amountCents: number;
  readonly currency: string;
  readonly paymentToken?: string;
  readonly cancelReason?: string;
}

export interface Payment {
  readonly orderId: string;
  readonly paymentId: string;
  readonly idempotencyKey: string;
  readonly userId: string;
  readonly amountCents: number;
  readonly currency: string;
  readonly status: PaymentStatus;
  readonly providerChargeId?: string;
  readonly error?: string;
  readonly code?: string;
  readonly createdAt: string;
  readonly settledAt?: string;
  readonly refund?: { readonly refundId: string; readonly status: RefundStatus; readonly reason: string; readonly refundedAt?: string };
}

function toPayment(row: Selectable<PaymentsTable>): Payment {
  return {
    orderId: row.order_id,
    paymentId: row.payment_id,
    idempotencyKey: row.idempotency_key,
    userId: row.user_id,
    amountCents: Number(row.amount_cents),
    currency: row.currency,
    status: row.status,
    createdAt: row.created_at,
    ...(row.provider_charge_id === null ? {} : { providerChargeId: row.provider_charge_id }),
    ...(row.error === null ? {} : { error: row.error }),
    ...(row.code === null ? {} : { code: row.code }),
    ...(row.settled_at === null ? {} : { settledAt: row.settled_at }),
    ...(row.refund_id === null || row.refund_status === null
      ? {}
      : {
          refund: {
            refundId: row.refund_id,
            status: row.refund_status,
            reason: row.refund_reason ?? '',
            ...(row.refunded_at === null ? {} : { refundedAt: row.refunded_at }),
          },
        }),
  };
}

export const paymentOrdersStore = {
  /** Records each order unless recorded before (the first of an id listed twice wins), in one statement. */
  async insert(db: DB, orders: readonly PaymentOrder[], at: string): Promise<void> {
    if (orders.length === 0) return;
    await db
      .insertInto('payment_orders')
      .values(
        orders.map((order) => ({
          order_id: order.orderId,
          user_id: order.userId,
          amount_cents: order.amountCents,
          currency: order.currency,
          payment_token: order.paymentToken ?? null,
          cancel_reason: null,
          created_at: at,
        })),
      )
      .onConflict((oc) => oc.column('order_id').doNothing())
      .execute();
  },

  async get(db: DB, orderId: string): Promise<PaymentOrder | undefined> {
    const row = await db.selectFrom('payment_orders').selectAll().where('order_id', '=', orderId).executeTakeFirst();
    if (!row) return undefined;
    return {
      orderId: row.order_id,
      userId: row.user_id,
      amountCents: Number(row.amount_cents),
      currency: row.currency,
      ...(row.payment_token === null ? {} : { paymentToken: row.payment_token }),
      ...(row.cancel_reason === null ? {} : { cancelReason: row.cancel_reason }),
    };
  },

  async cancel(db: DB, orderId: string, reason: string): Promise<void> {
    await db.updateTable('payment_orders').set({ cancel_reason: reason }).where('order_id', '=', orderId).where('cancel_reason', 'is', null).execute();
  },

  /** Single-use: forget the token once the charge settled. */
  async forgetToken(db: DB, orderId: string): Promise<void> {
    await db.updateTable('payment_orders').set({ payment_token: null }).where('order_id', '=', orderId).execute();
  },
};

export const paymentsStore = {
  /** Records the charge attempt of an order unless one exists; returns the order's one attempt either way. */
  async begin(db: DB, attempt: { orderId: string; paymentId: string; userId: string; amountCents: number; currency: string; at: string }): Promise<Payment> {
    await db
      .insertInto('payments')
      .values({
        order_id: attempt.orderId,
        payment_id: attempt.paymentId,
        idempotency_key: `order:${attempt.orderId}`,
        user_id: attempt.userId,
        amount_cents: attempt.amountCents,
        currency: attempt.currency,
        status: 'pending',
        provider_charge_id: null,
        error: null,
        code: null,
        created_at: attempt.at,
        settled_at: null,
        refund_id: null,
        refund_status: null,
        refund_reason: null,
        refunded_at: null,
      })
      .onConflict((oc) => oc.column('order_id').doNothing())
      .execute();
    return (await paymentsStore.get(db, attempt.orderId))!;
  },

  async get(db: DB, orderId: string): Promise<Payment | undefined> {
    const row = await db.selectFrom('payments').selectAll().where('order_id', '=', orderId).executeTakeFirst();
    return row ? toPayment(row) : undefined;
  },

  /** Settles a pending attempt; `false` when it was settled already (by an earlier delivery). */
  async settle(
    db: DB,
    orderId: string,
    outcome: { status: 'succeeded'; chargeId?: string } | { status: 'failed'; chargeId?: string; error: string; code: string },
    at: string,
  ): Promise<boolean> {
    const result = await db
      .updateTable('payments')
      .set({
        status: outcome.status,
        provider_charge_id: outcome.chargeId ?? null,
        error: outcome.status === 'failed' ? outcome.error : null,
        code: outcome.status === 'failed' ? outcome.code : null,
        settled_at: at,
      })
      .where('order_id', '=', orderId)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  /** Records the intent to refund (its id is the refund's idempotency key); returns the attempt either way. */
  async requestRefund(db: DB, orderId: string, refundId: string, reason: string): Promise<Payment> {
    await db
      .updateTable('payments')
      .set({ refund_id: refundId, refund_status: 'pending', refund_reason: reason })
      .where('order_id', '=', orderId)
      .where('status', '=', 'succeeded')
      .where('refund_id', 'is', null)
      .execute();
    return (await paymentsStore.get(db, orderId))!;
  },

  /** Marks a pending refund done; `false` when it was already. */
  async refunded(db: DB, orderId: string, at: string): Promise<boolean> {
    const result = await db
      .updateTable('payments')
      .set({ refund_status: 'refunded', refunded_at: at })
      .where('order_id', '=', orderId)
      .where('refund_status', '=', 'pending')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },
};
