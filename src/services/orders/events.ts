/** What the orders context publishes (catalog: src/contracts/catalog/orders.ts). */
import type { PublishInput } from '../../bus/index.ts';
import type { EventData } from '../../contracts/index.ts';

export const SOURCE = '/services/orders';

/** An event the orders context publishes; the service runtime adds it in the transaction of the change. */
export type OrderEvent = PublishInput<'order.placed'> | PublishInput<'order.confirmed'> | PublishInput<'order.cancelled'> | PublishInput<'order.completed'>;

/** Links an event to the one that caused it (`causationid`) and to the order's conversation (`correlationid`). */
export interface Cause {
  readonly id: string;
  readonly correlationid?: string;
}

export function orderEvent<T extends 'order.placed' | 'order.confirmed' | 'order.cancelled' | 'order.completed'>(
  type: T,
  id: string,
  data: EventData<T>,
  cause?: Cause,
): PublishInput<T> {
  return {
    type,
    id,
    source: SOURCE,
    data,
    // The order id correlates the whole saga unless the conversation started earlier (a cart checkout).
    correlationid: cause?.correlationid ?? data.orderId,
    ...(cause ? { causationid: cause.id } : {}),
  };
}
