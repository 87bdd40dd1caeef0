/**
 * What fulfillment reacts to: a placed order's shipping address (kept until it ships), a confirmed
 * order (its shipment), a cancelled one (the address is forgotten).
 */
import { declareReads, type EventData, type ReadDeclaration, type ReadEvent, type ReadFields, type ReadsOf } from '../../contracts/index.ts';
import type { FulfillmentEvent } from './events.ts';
import { createShipment, forgetOrder, rememberAddresses } from './shipments.ts';
import type { FulfillmentDb } from './store.ts';

export interface FulfillmentReaction<R extends ReadFields> {
  /** The subscription, `fulfillment.<purpose>`. */
  readonly name: string;
  /** What it reads (issue 14): its types, and the only fields of `data` its handler sees. */
  readonly reads: ReadDeclaration<R>;
  readonly concurrency: number;
  /** Handle up to this many events in one transaction (one commit for many orders under load). (Default: 1) */
  readonly maxBatchSize?: number;
  react(trx: FulfillmentDb, event: ReadEvent<R>): Promise<FulfillmentEvent[]>;
  /** After the events of a transaction, in it: writes what `react` left waiting. */
  finish(trx: FulfillmentDb): Promise<void>;
}

/** What `fulfillment.shipments` reads: where a placed order goes, what a confirmed one holds. */
export const shipmentsReads = declareReads('fulfillment.shipments', {
  'order.placed': ['orderId', 'shippingAddress'],
  'order.confirmed': ['orderId', 'userId', 'items'],
  'order.cancelled': ['orderId'],
});

export function fulfillmentReactions() {
  type Placed = Pick<EventData<'order.placed'>, 'orderId' | 'shippingAddress'>;
  // The addresses of a transaction's placed orders wait and are written in one statement: before
  // anything reads or deletes one (any other event of the batch), else when the batch ends.
  const waiting = new WeakMap<FulfillmentDb, Placed[]>();
  const writeWaiting = async (trx: FulfillmentDb) => {
    const placed = waiting.get(trx);
    if (!placed) return;
    waiting.delete(trx);
    await rememberAddresses(trx, placed);
  };
  const orders: FulfillmentReaction<ReadsOf<typeof shipmentsReads>> = {
    name: 'fulfillment.shipments',
    reads: shipmentsReads,
    concurrency: 2,
    maxBatchSize: 100,
    async react(trx, event) {
      if (event.type === 'order.placed') {
        const placed = waiting.get(trx) ?? [];
        placed.push(event.data);
        waiting.set(trx, placed);
        return [];
      }
      await writeWaiting(trx);
      switch (event.type) {
        case 'order.confirmed':
          return createShipment(trx, event.data);
        case 'order.cancelled':
          await forgetOrder(trx, event.data.orderId);
          return [];
      }
    },
    finish: writeWaiting,
  };
  return [orders] as const;
}
