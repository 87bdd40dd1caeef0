import { Type } from '@sinclair/typebox';
import { defineEvent } from '../define.ts';
import { Cents, Currency, Id, LineItem, MAX_INT32, PaymentToken, Quantity } from './fields.ts';

/** A product number of the seed's carts: any integer a PostgreSQL `integer` column holds. */
const ItemNumber = (description?: string) => Type.Integer({ minimum: -MAX_INT32 - 1, maximum: MAX_INT32, ...(description ? { description } : {}) });

/**
 * The seed 000 ShoppingCartEvent shape, kept exactly so the Python producer works unchanged:
 * `customer_id` (UUID, null or absent), `items` (the whole cart, product numbers) and `item`.
 */
const shoppingCartEvent = {
  cartId: Type.Optional(Type.String({ format: 'uuid', description: 'The cart; older producers omit it.' })),
  customer_id: Type.Optional(Type.Union([Type.String({ format: 'uuid' }), Type.Null()], { description: 'The customer, null for a guest.' })),
  items: Type.Array(ItemNumber(), { description: 'Every item in the cart after the change.' }),
  item: ItemNumber('The item added or removed.'),
  // Our own producer adds the product ids and quantities the seed's integers cannot carry.
  productId: Type.Optional(Id('The product added or removed (`item` is its catalog number).')),
  quantity: Type.Optional(Quantity('Units added or removed.')),
  lines: Type.Optional(
    Type.Array(
      Type.Object({
        productId: Id('The product.'),
        number: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_INT32, description: 'Its catalog number, as in `items`.' })),
        quantity: Quantity(),
      }),
      { description: 'The whole cart after the change with quantities; `items` is its seed-compatible projection (catalog numbers, one per line).' },
    ),
  ),
};

export const cartItemAdded = defineEvent({
  type: 'cart.item_added',
  version: 1,
  producer: 'webshop',
  kind: 'state',
  // Cart state only: nothing charges, reserves or ships on it (the seed's keyless producers send it).
  publishedBy: 'anyone',
  key: ['cartId', 'customer_id'],
  subject: 'cart',
  urgency: 'background',
  description: 'An item was added to a shopping cart; carries the whole item list (seed 000 ItemAddedToCart).',
  schema: Type.Object(shoppingCartEvent),
  personalData: [],
  aliases: ['item_added_to_cart'],
});

export const cartItemRemoved = defineEvent({
  type: 'cart.item_removed',
  version: 1,
  producer: 'webshop',
  kind: 'state',
  publishedBy: 'anyone',
  key: ['cartId', 'customer_id'],
  subject: 'cart',
  urgency: 'background',
  description: 'An item was removed from a shopping cart; carries the whole item list left (seed 000 ShoppingCartEvent shape).',
  schema: Type.Object(shoppingCartEvent),
  personalData: [],
  aliases: ['item_removed_from_cart'],
});

export const cartCheckedOut = defineEvent({
  type: 'cart.checked_out',
  version: 1,
  producer: 'webshop',
  kind: 'domain',
  key: ['cartId'],
  subject: 'cart',
  urgency: 'background',
  description:
    'A cart was turned into an order: carries the priced lines, the total and the order id it became. ' +
    'Orders prices the lines again from its own replica of the catalog and refuses a checkout whose prices or total differ.',
  schema: Type.Object({
    cartId: Id('The cart.'),
    orderId: Id('The order created from the cart (UUIDv7).'),
    userId: Type.Optional(Id('The customer; absent for a guest checkout.')),
    items: Type.Array(LineItem, { minItems: 1 }),
    totalCents: Cents('Sum of the lines in minor units.'),
    currency: Currency,
    paymentToken: Type.Optional(PaymentToken),
  }),
  personalData: [],
  secrets: ['/paymentToken'],
  aliases: [],
});

export const webshopEvents = [cartItemAdded, cartItemRemoved, cartCheckedOut] as const;
