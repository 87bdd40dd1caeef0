/**
 * Charging and refunding, with the provider call outside any transaction:
 *
 *   1. in a transaction, record the attempt keyed by order id (unique) — or find the one recorded;
 *   2. call the provider with the attempt's idempotency key (`order:<orderId>`);
 *   3. in a transaction that also marks the event handled (the service runtime's `once`), settle
 *      the attempt and publish `payment.succeeded` / `payment.failed` — only if it was still pending.
 *
 * A redelivered event or a restart after a crash between 1 and 3 repeats step 2 with the same key,
 * and the provider returns the first outcome: the order is charged once. Refunds follow the same
 * three steps with the refund id as the key.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { retryAfter } from '../../bus/index.ts';
import type { EventData } from '../../contracts/index.ts';
import { paymentEvent, type Cause, type PaymentEvent } from './events.ts';
import type { ChargeResult, PaymentProvider } from './provider.ts';
import { paymentOrdersStore, paymentsStore, type PaymentsDatabase } from './store.ts';

/** Runs `work` in a transaction that also records the event as handled and adds the events `work` returns (the runtime's `once`). */
export type Once = (work: (trx: Kysely<PaymentsDatabase>) => Promise<PaymentEvent[]>) => Promise<void>;

export interface ChargingDeps {
  readonly db: Kysely<PaymentsDatabase>;
  readonly provider: PaymentProvider;
  readonly logger: Logger;
}

/** `order.placed` events: remember each order's amount and token until stock is reserved, in one statement. */
export async function rememberOrders(
  trx: Kysely<PaymentsDatabase>,
  placed: readonly Pick<EventData<'order.placed'>, 'orderId' | 'userId' | 'totalCents' | 'currency' | 'paymentToken'>[],
): Promise<void> {
  const orders = placed.map((data) => ({
    orderId: data.orderId,
    userId: data.userId,
    amountCents: data.totalCents,
    currency: data.currency,
    ...(data.paymentToken === undefined ? {} : { paymentToken: data.paymentToken }),
  }));
  await paymentOrdersStore.insert(trx, orders, new Date().toISOString());
}

/** `stock.reserved`: charge the order, once. */
export async function chargeOrder(deps: ChargingDeps, orderId: string, cause: Cause, once: Once): Promise<void> {
  const { db, provider, logger } = deps;
  type Step = { kind: 'none' } | { kind: 'no_token' } | { kind: 'charge'; token: string; idempotencyKey: string; amountCents: number; currency: string };
  const step = await db.transaction().execute(async (trx): Promise<Step> => {
    const order = await paymentOrdersStore.get(trx, orderId);
    // order.placed comes first in the order's log; without it there is nothing to charge yet.
    if (!order) throw retryAfter(1000, `order ${orderId} not known to payments yet`);
    const existing = await paymentsStore.get(trx, orderId);
    if (!existing && order.cancelReason !== undefined) {
      logger.info({ orderId }, 'order cancelled before stock was reserved: not charged');
      return { kind: 'none' };
    }
    const attempt =
      existing ??
      (await paymentsStore.begin(trx, {
        orderId,
        paymentId: uuidv7(),
        userId: order.userId,
        amountCents: order.amountCents,
        currency: order.currency,
        at: new Date().toISOString(),
      }));
    if (attempt.status !== 'pending') return { kind: 'none' };
    if (order.paymentToken === undefined) return { kind: 'no_token' };
    return { kind: 'charge', token: order.paymentToken, idempotencyKey: attempt.idempotencyKey, amountCents: attempt.amountCents, currency: attempt.currency };
  });

  let outcome: ChargeResult | { status: 'failed'; error: string; code: string } | undefined;
  if (step.kind === 'charge') {
    outcome = await provider.charge({ idempotencyKey: step.idempotencyKey, token: step.token, amountCents: step.amountCents, currency: step.currency });
  } else if (step.kind === 'no_token') {
    // A cart checked out without a token cannot be paid: fail it now rather than wait for the timeout.
    outcome = { status: 'failed', error: 'no payment token', code: 'missing_token' };
  }

  await once(async (trx) => {
    const attempt = await paymentsStore.get(trx, orderId);
    if (!outcome || !attempt || attempt.status !== 'pending') return [];
    const settled = outcome;
    if (!(await paymentsStore.settle(trx, orderId, settled, new Date().toISOString()))) return [];
    await paymentOrdersStore.forgetToken(trx, orderId);
    const base = { paymentId: attempt.paymentId, orderId, userId: attempt.userId, amountCents: attempt.amountCents, currency: attempt.currency };
    logger.info({ orderId, paymentId: attempt.paymentId, status: settled.status }, 'payment settled');
    return settled.status === 'succeeded'
      ? [paymentEvent('payment.succeeded', base, cause)]
      : [paymentEvent('payment.failed', { ...base, error: settled.error, code: settled.code }, cause)];
  });
}

/** `order.cancelled`: refund a captured payment, once; forget the order otherwise. */
export async function refundOrder(deps: ChargingDeps, data: Pick<EventData<'order.cancelled'>, 'orderId' | 'reason'>, cause: Cause, once: Once): Promise<void> {
  const { db, provider } = deps;
  const { orderId, reason } = data;
  let refund: { refundId: string; chargeId: string; amountCents: number } | undefined;
  await db.transaction().execute(async (trx) => {
    await paymentOrdersStore.cancel(trx, orderId, reason);
    const attempt = await paymentsStore.get(trx, orderId);
    if (!attempt || attempt.status === 'failed') return;
    // A charge in flight in another consumer: wait for it to settle, then refund.
    if (attempt.status === 'pending') throw retryAfter(1000, `payment of order ${orderId} still settling`);
    const requested = attempt.refund ? attempt : await paymentsStore.requestRefund(trx, orderId, uuidv7(), reason);
    if (requested.refund?.status === 'pending' && requested.providerChargeId !== undefined) {
      refund = { refundId: requested.refund.refundId, chargeId: requested.providerChargeId, amountCents: requested.amountCents };
    }
  });

  if (refund) await provider.refund({ idempotencyKey: `refund:${refund.refundId}`, chargeId: refund.chargeId, amountCents: refund.amountCents });

  await once(async (trx) => {
    if (!refund) return [];
    if (!(await paymentsStore.refunded(trx, orderId, new Date().toISOString()))) return [];
    const attempt = (await paymentsStore.get(trx, orderId))!;
    return [
      paymentEvent(
        'payment.refunded',
        {
          refundId: refund.refundId,
          paymentId: attempt.paymentId,
          orderId,
          userId: attempt.userId,
          amountCents: attempt.amountCents,
          currency: attempt.currency,
          reason: `order cancelled: ${reason}`,
        },
        cause,
      ),
    ];
  });
}
