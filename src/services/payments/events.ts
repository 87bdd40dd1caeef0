/** What the payments context publishes (catalog: src/contracts/catalog/payments.ts). Never the payment token. */
import type { PublishInput } from '../../bus/index.ts';
import type { EventData } from '../../contracts/index.ts';

export const SOURCE = '/services/payments';

/** An event the payments context publishes; the service runtime adds it in the transaction of the change. */
export type PaymentEvent = PublishInput<'payment.succeeded'> | PublishInput<'payment.failed'> | PublishInput<'payment.refunded'>;

/** The event that caused this one. */
export interface Cause {
  readonly id: string;
  readonly correlationid?: string;
}

/** `payment.failed` is immediate (seed 002): the customer hears at once and the saga cancels the order. */
export function paymentEvent<T extends 'payment.succeeded' | 'payment.failed' | 'payment.refunded'>(type: T, data: EventData<T>, cause: Cause): PublishInput<T> {
  return { type, source: SOURCE, data, causationid: cause.id, correlationid: cause.correlationid ?? data.orderId };
}
