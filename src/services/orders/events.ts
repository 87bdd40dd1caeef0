/** What the orders context publishes (catalog: src/contracts/catalog/orders.ts). */
import type { Outbox, PublishInput } from '../../bus/index.ts';
import type { EventData } from '../../contracts/index.ts';

export const SOURCE = '/services/orders';

/** Where a state change's events go: the outbox, in the same transaction. */
export type EventSink<DB> = Pick<Outbox<DB>, 'add'>;

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
