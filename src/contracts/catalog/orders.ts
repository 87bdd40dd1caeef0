import { Type } from '@sinclair/typebox';
import { defineEvent } from '../define.ts';

const OrderItem = Type.Object({
  productId: Type.String({ minLength: 1 }),
  quantity: Type.Integer({ minimum: 1 }),
});

export const orderPlaced = defineEvent({
  type: 'order.placed',
  version: 1,
  producer: 'orders',
  kind: 'domain',
  key: ['orderId'],
  subject: 'order',
  urgency: 'background',
  description: 'A customer placed an order; the saga starts here.',
  schema: Type.Object({
    orderId: Type.String({ minLength: 1 }),
    userId: Type.String({ minLength: 1 }),
    items: Type.Array(OrderItem, { minItems: 1 }),
    total: Type.Number({ minimum: 0 }),
    currency: Type.String({ minLength: 3, maxLength: 3 }),
  }),
  personalData: [],
  aliases: ['OrderCreated'],
});

export const ordersEvents = [orderPlaced] as const;
