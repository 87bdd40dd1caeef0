import { Type } from '@sinclair/typebox';
import { defineEvent } from '../define.ts';
import { Address, CancellationReason, Cents, Currency, Email, Id, LineItem, PaymentToken } from './fields.ts';

const OrderId = Id('The order (UUIDv7).');
const UserId = Id('The customer (UUIDv7).');

export const orderPlaced = defineEvent({
  type: 'order.placed',
  version: 1,
  producer: 'orders',
  kind: 'domain',
  key: ['orderId'],
  subject: 'order',
  urgency: 'background',
  description:
    'A customer placed an order; the order saga starts here (catalog reserves stock, payments charges `paymentToken`). ' +
    'Carries the priced lines and the total so consumers need not call back (seed 002 OrderCreated).',
  schema: Type.Object({
    orderId: OrderId,
    userId: UserId,
    items: Type.Array(LineItem, { minItems: 1 }),
    totalCents: Cents('Sum of the lines in minor units.'),
    currency: Currency,
    paymentToken: Type.Optional(PaymentToken),
    email: Type.Optional(Email),
    shippingAddress: Type.Optional(Address),
  }),
  personalData: ['/email', '/shippingAddress'],
  secrets: ['/paymentToken'],
  aliases: ['OrderCreated'],
});

export const orderConfirmed = defineEvent({
  type: 'order.confirmed',
  version: 1,
  producer: 'orders',
  kind: 'domain',
  key: ['orderId'],
  subject: 'order',
  urgency: 'background',
  description:
    'Stock is reserved and payment succeeded: the order will be shipped. ' +
    'Alias `OrderPaid` (seed 002, produced by the orders module for shipping) maps here, not to payment.succeeded.',
  schema: Type.Object({
    orderId: OrderId,
    userId: UserId,
    paymentId: Id('The successful payment.'),
    items: Type.Array(LineItem, { minItems: 1 }),
    totalCents: Cents('Amount paid in minor units.'),
    currency: Currency,
  }),
  personalData: [],
  aliases: ['OrderPaid'],
});

export const orderCancelled = defineEvent({
  type: 'order.cancelled',
  version: 1,
  producer: 'orders',
  kind: 'domain',
  key: ['orderId'],
  subject: 'order',
  urgency: 'background',
  description:
    'The order ended without being fulfilled; reserved stock is released and a captured payment refunded (compensation). ' +
    '`reason` says why; `detail` is for people.',
  schema: Type.Object({
    orderId: OrderId,
    userId: UserId,
    reason: CancellationReason,
    detail: Type.Optional(Type.String({ maxLength: 1000, description: 'Human-readable explanation, e.g. the payment error.' })),
    stockReserved: Type.Boolean({ description: 'Whether stock had been reserved (and so must be released).' }),
    paymentId: Type.Optional(Id('A captured payment that must be refunded.')),
  }),
  personalData: [],
  aliases: [],
});

export const orderCompleted = defineEvent({
  type: 'order.completed',
  version: 1,
  producer: 'orders',
  kind: 'domain',
  key: ['orderId'],
  subject: 'order',
  urgency: 'background',
  description: 'Every shipment of the order was delivered; the order saga ends here.',
  schema: Type.Object({
    orderId: OrderId,
    userId: UserId,
    totalCents: Cents('Amount paid in minor units.'),
    currency: Currency,
  }),
  personalData: [],
  aliases: [],
});

export const ordersEvents = [orderPlaced, orderConfirmed, orderCancelled, orderCompleted] as const;
