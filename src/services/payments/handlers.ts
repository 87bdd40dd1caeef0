/**
 * What the payments context reacts to, on one subscription (`payments.charges`) so that an order's
 * events come in log order: `order.placed` (remember amount and token), `stock.reserved` (charge),
 * `order.cancelled` (refund if charged). Charging on `stock.reserved` means a payment never comes
 * before the reservation.
 */
import type { Kysely } from 'kysely';
import { handleOnceBatch, type DeliveredEvent, type HandlerContext } from '../../bus/index.ts';
import { declareReads, type ReadEvent, type ReadsOf } from '../../contracts/index.ts';
import { chargeOrder, refundOrder, rememberOrders, type ChargingDeps, type Once } from './charging.ts';
import type { PaymentEvent } from './events.ts';
import type { ReadBatchHandler } from '../runtime.ts';
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
            await rememberOrders(trx, [event.data]);
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

/**
 * The batch form of `chargesHandler`, for a batch subscription: consecutive `order.placed` events
 * (remembered, nothing published) share one transaction (`handleOnceBatch`); every other event is
 * handled on its own, in order, as `chargesHandler` does, since a charge calls the provider between
 * two transactions. Each event gets its own result; after a failure, the later events of the same
 * order wait behind it.
 */
export function chargesBatchHandler(deps: ChargingDeps & { once: HandleOnce }): ReadBatchHandler<ReadsOf<typeof chargesReads>> {
  const single = chargesHandler(deps);
  // Only consecutive order.placed events form a group, so nothing in it reads what it remembers.
  const remember = handleOnceBatch<PaymentsDatabase, 'order.placed'>(deps.db, async () => {}, {
    finish: (trx, handled) => rememberOrders(trx, handled.map((event) => event.data)),
  });
  return async (events, context) => {
    const results = new Array<unknown>(events.length);
    const failed = new Map<string, string>();
    const fail = (i: number, error: unknown) => {
      results[i] = error ?? new Error('handler threw undefined');
      const { id, partitionkey } = events[i];
      if (partitionkey !== undefined && !failed.has(partitionkey)) failed.set(partitionkey, id);
    };
    const heldBack = (i: number): boolean => {
      const before = events[i].partitionkey === undefined ? undefined : failed.get(events[i].partitionkey!);
      if (before !== undefined) results[i] = new Error(`held back behind event ${before} of the same order, which failed`);
      return before !== undefined;
    };
    let placed: number[] = [];
    const flush = async () => {
      if (placed.length === 0) return;
      const group = placed;
      placed = [];
      let groupResults: readonly unknown[] | void;
      try {
        // The bus delivers whole events; the declared reads only narrow what the handler sees.
        groupResults = await remember(
          group.map((i) => events[i] as unknown as DeliveredEvent<'order.placed'>),
          context,
        );
      } catch (error) {
        groupResults = group.map(() => error);
      }
      if (groupResults) group.forEach((i, k) => groupResults[k] !== undefined && fail(i, groupResults[k]));
    };
    for (let i = 0; i < events.length; i++) {
      if (heldBack(i)) continue;
      if (events[i].type === 'order.placed') {
        placed.push(i);
        continue;
      }
      await flush();
      if (heldBack(i)) continue;
      try {
        await single(events[i], context);
      } catch (error) {
        fail(i, error);
      }
    }
    await flush();
    return results;
  };
}
