/**
 * What the payments context reacts to, on one subscription (`payments.charges`) so that an order's
 * events come in log order: `order.placed` (remember amount and token), `stock.reserved` (charge),
 * `order.cancelled` (refund if charged). Charging on `stock.reserved` means a payment never comes
 * before the reservation.
 */
import type { Kysely } from 'kysely';
import type { HandlerContext } from '../../bus/index.ts';
import { declareReads, type ReadEvent, type ReadsOf } from '../../contracts/index.ts';
import { chargeOrder, refundOrder, rememberOrder, type ChargingDeps, type Once } from './charging.ts';
import type { PaymentEvent } from './events.ts';
import type { PaymentsDatabase } from './store.ts';

/** What `payments.charges` reads: the amount and token of a placed order, the reservation, the cancellation. */
export const chargesReads = declareReads('payments.charges', {
  'order.placed': ['orderId', 'userId', 'totalCents', 'currency', 'paymentToken'],
  'stock.reserved': ['orderId'],
  'order.cancelled': ['orderId', 'reason'],
});
export const CHARGE_TYPES = chargesReads.types;
export type ChargeType = (typeof CHARGE_TYPES)[number];
export type ChargeEvent = ReadEvent<ReadsOf<typeof chargesReads>>;

/** Handles `event` once: `work`'s transaction marks it handled and adds the events `work` returns, caused by it. */
export type HandleOnce = (event: ChargeEvent, context: HandlerContext, work: (trx: Kysely<PaymentsDatabase>) => Promise<PaymentEvent[]>) => Promise<void>;

export function chargesHandler(deps: ChargingDeps & { once: HandleOnce }) {
  return async (event: ChargeEvent, context: HandlerContext): Promise<void> => {
    /** The last step of a delivery, in the transaction that marks the event handled. */
    const once: Once = (work) => deps.once(event, context, work);
    try {
      switch (event.type) {
        case 'order.placed':
          return await once(async (trx) => {
            await rememberOrder(trx, event.data);
            return [];
          });
        case 'stock.reserved':
          return await chargeOrder(deps, event.data.orderId, event, once);
        case 'order.cancelled':
          return await refundOrder(deps, event.data, event, once);
      }
    } catch (error) {
      deps.logger.warn({ err: error, id: event.id, type: event.type, attempt: context.attempt }, 'payments handler failed; the bus retries');
      throw error;
    }
  };
}
