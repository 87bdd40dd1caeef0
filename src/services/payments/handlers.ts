/**
 * What the payments context reacts to, on one subscription (`payments.charges`) so that an order's
 * events come in log order: `order.placed` (remember amount and token), `stock.reserved` (charge),
 * `order.cancelled` (refund if charged). Charging on `stock.reserved` means a payment never comes
 * before the reservation.
 */
import type { Kysely } from 'kysely';
import { handleOnce, type DeliveredEvent, type HandlerContext } from '../../bus/index.ts';
import { chargeOrder, refundOrder, rememberOrder, type ChargingDeps, type Once } from './charging.ts';
import type { PaymentsDatabase } from './store.ts';

export const CHARGE_TYPES = ['order.placed', 'stock.reserved', 'order.cancelled'] as const;
export type ChargeType = (typeof CHARGE_TYPES)[number];
export type ChargeEvent = DeliveredEvent<ChargeType>;

export function chargesHandler(deps: ChargingDeps & { db: Kysely<PaymentsDatabase> }) {
  const { db } = deps;
  return async (event: ChargeEvent, context: HandlerContext): Promise<void> => {
    /** The last step of a delivery, in the transaction that marks the event handled. */
    const once: Once = async (work) => {
      await handleOnce(db, (_event, trx) => work(trx))(event, context);
    };
    try {
      switch (event.type) {
        case 'order.placed':
          return await once((trx) => rememberOrder(trx, event.data));
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
