/**
 * What fulfillment reacts to: a placed order's shipping address (kept until it ships), a confirmed
 * order (its shipment), a cancelled one (the address is forgotten).
 */
import { declareReads, type ReadDeclaration, type ReadEvent, type ReadFields, type ReadsOf } from '../../contracts/index.ts';
import type { FulfillmentEvent } from './events.ts';
import { createShipment, forgetOrder, rememberAddress } from './shipments.ts';
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
}

/** What `fulfillment.shipments` reads: where a placed order goes, what a confirmed one holds. */
export const shipmentsReads = declareReads('fulfillment.shipments', {
  'order.placed': ['orderId', 'shippingAddress'],
  'order.confirmed': ['orderId', 'userId', 'items'],
  'order.cancelled': ['orderId'],
});

export function fulfillmentReactions() {
  const orders: FulfillmentReaction<ReadsOf<typeof shipmentsReads>> = {
    name: 'fulfillment.shipments',
    reads: shipmentsReads,
    concurrency: 2,
    maxBatchSize: 100,
    async react(trx, event) {
      switch (event.type) {
        case 'order.placed':
          await rememberAddress(trx, event.data);
          return [];
        case 'order.confirmed':
          return createShipment(trx, event.data);
        case 'order.cancelled':
          await forgetOrder(trx, event.data.orderId);
          return [];
      }
    },
  };
  return [orders] as const;
}
