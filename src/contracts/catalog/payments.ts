import { Type } from '@sinclair/typebox';
import { defineEvent } from '../define.ts';
import { Cents, Currency, Id } from './fields.ts';

const PaymentId = Id('The payment (UUIDv7).');
const OrderId = Id('The order paid for.');
const UserId = Id('The customer.');

export const paymentSucceeded = defineEvent({
  type: 'payment.succeeded',
  version: 1,
  producer: 'payments',
  kind: 'domain',
  key: ['orderId'],
  subject: 'order',
  urgency: 'background',
  description: 'The order amount was charged; the order saga confirms the order.',
  schema: Type.Object({
    paymentId: PaymentId,
    orderId: OrderId,
    userId: Type.Optional(UserId),
    amountCents: Cents('Amount charged in minor units.'),
    currency: Currency,
  }),
  personalData: [],
  aliases: [],
});

export const paymentFailed = defineEvent({
  type: 'payment.failed',
  version: 1,
  producer: 'payments',
  kind: 'domain',
  key: ['orderId'],
  subject: 'order',
  urgency: 'immediate',
  description: 'A charge was declined or could not be made: the customer is told at once and the order is cancelled (seed 002 PaymentFailed, immediate).',
  schema: Type.Object({
    orderId: OrderId,
    paymentId: Type.Optional(PaymentId),
    userId: Type.Optional(UserId),
    amountCents: Type.Optional(Cents('Amount that was to be charged.')),
    currency: Type.Optional(Currency),
    error: Type.String({ minLength: 1, maxLength: 1000, description: 'What the provider said, e.g. `insufficient funds`.' }),
    code: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Machine-readable decline code, e.g. `card_declined`.' })),
  }),
  personalData: [],
  aliases: ['PaymentFailed'],
});

export const paymentRefunded = defineEvent({
  type: 'payment.refunded',
  version: 1,
  producer: 'payments',
  kind: 'domain',
  key: ['orderId'],
  subject: 'order',
  urgency: 'background',
  description: 'Money was given back for a payment (all or part), e.g. after a cancellation.',
  schema: Type.Object({
    refundId: Id('The refund (UUIDv7).'),
    paymentId: PaymentId,
    orderId: OrderId,
    userId: Type.Optional(UserId),
    amountCents: Cents('Amount refunded in minor units.'),
    currency: Currency,
    reason: Type.String({ minLength: 1, maxLength: 500, description: 'Why, e.g. the cancellation reason.' }),
  }),
  personalData: [],
  aliases: [],
});

export const paymentsEvents = [paymentSucceeded, paymentFailed, paymentRefunded] as const;
