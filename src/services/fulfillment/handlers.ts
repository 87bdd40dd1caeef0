/**
 * What fulfillment reacts to: a placed order's shipping address (kept until it ships), a confirmed
 * order (its shipment), a cancelled one (the address is forgotten).
 */
import type { DeliveredEvent } from '../../bus/index.ts';
import type { FulfillmentEvent } from './events.ts';
import { createShipment, forgetOrder, rememberAddress } from './shipments.ts';
import type { FulfillmentDb } from './store.ts';

export interface FulfillmentReaction<T extends DeliveredEvent['type']> {
  /** The subscription, `fulfillment.<purpose>`. */
  readonly name: string;
  readonly types: readonly T[];
  readonly concurrency: number;
  /** Handle up to this many events in one transaction (one commit for many orders under load). (Default: 1) */
  readonly maxBatchSize?: number;
  react(trx: FulfillmentDb, event: DeliveredEvent<T>): Promise<FulfillmentEvent[]>;
}

export function fulfillmentReactions() {
  const orders: FulfillmentReaction<'order.placed' | 'order.confirmed' | 'order.cancelled'> = {
    name: 'fulfillment.shipments',
    types: ['order.placed', 'order.confirmed', 'order.cancelled'],
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
