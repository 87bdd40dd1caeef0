import { Type } from '@sinclair/typebox';
import { defineEvent } from '../define.ts';

export const cartItemAdded = defineEvent({
  type: 'cart.item_added',
  version: 1,
  producer: 'webshop',
  kind: 'state',
  key: ['cartId', 'customer_id'],
  subject: 'cart',
  urgency: 'background',
  description: 'An item was added to a shopping cart; carries the whole item list (seed 000 ItemAddedToCart).',
  schema: Type.Object({
    cartId: Type.Optional(Type.String({ format: 'uuid' })),
    customer_id: Type.Optional(Type.Union([Type.String({ format: 'uuid' }), Type.Null()])),
    items: Type.Array(Type.Integer()),
    item: Type.Integer(),
  }),
  personalData: [],
  aliases: ['item_added_to_cart'],
});

export const webshopEvents = [cartItemAdded] as const;
