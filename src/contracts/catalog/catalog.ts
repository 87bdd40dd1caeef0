import { Type } from '@sinclair/typebox';
import { defineEvent } from '../define.ts';
import { Cents, Currency, Id, MAX_INT32, MAX_QUANTITY, Quantity, StockLine } from './fields.ts';

const ProductId = Id('The product (UUIDv7).');
const OrderId = Id('The order the stock is held for.');
const OnHand = Type.Integer({ minimum: 0, maximum: MAX_INT32, description: 'Units on hand after the change.' });

/** The product as the catalog holds it, carried whole by created/updated (event-carried state). */
const productState = {
  productId: ProductId,
  number: Type.Optional(
    Type.Integer({ minimum: 1, maximum: MAX_INT32, description: 'Catalog number, unique: the integer that systems identifying products by number use (seed 000 cart `items`).' }),
  ),
  sku: Type.String({ minLength: 1, maxLength: 64, description: 'Stock keeping unit, unique.' }),
  name: Type.String({ minLength: 1, maxLength: 200 }),
  description: Type.Optional(Type.String({ maxLength: 5000 })),
  priceCents: Cents('Unit price in minor units.'),
  currency: Currency,
  onHand: OnHand,
  lowStockThreshold: Type.Integer({ minimum: 0, maximum: MAX_INT32, description: '`stock.low` is published when on-hand falls to or below this.' }),
  active: Type.Boolean({ description: 'Whether the product can be ordered.' }),
};

export const productCreated = defineEvent({
  type: 'product.created',
  version: 1,
  producer: 'catalog',
  kind: 'state',
  key: ['productId'],
  subject: 'product',
  urgency: 'background',
  description: 'A product was added to the catalog; carries the whole product, stock included.',
  schema: Type.Object(productState),
  personalData: [],
  aliases: [],
});

export const productUpdated = defineEvent({
  type: 'product.updated',
  version: 1,
  producer: 'catalog',
  kind: 'state',
  key: ['productId'],
  subject: 'product',
  urgency: 'background',
  description: 'A product changed (name, price, threshold, active…); carries the whole product and which fields changed.',
  schema: Type.Object({
    ...productState,
    changed: Type.Array(Type.String({ minLength: 1 }), { uniqueItems: true, description: 'Names of the fields that changed.' }),
  }),
  personalData: [],
  aliases: [],
});

export const stockAdjusted = defineEvent({
  type: 'stock.adjusted',
  version: 1,
  producer: 'catalog',
  kind: 'domain',
  key: ['productId'],
  subject: 'product',
  urgency: 'background',
  description: 'Stock on hand was changed by hand or by a delivery from a supplier (not by orders: see stock.reserved/released).',
  schema: Type.Object({
    productId: ProductId,
    delta: Type.Integer({ minimum: -MAX_QUANTITY, maximum: MAX_QUANTITY, description: 'Units added (positive) or removed (negative).' }),
    onHand: OnHand,
    reason: Type.Union([Type.Literal('restock'), Type.Literal('correction'), Type.Literal('damaged'), Type.Literal('returned')]),
    note: Type.Optional(Type.String({ maxLength: 500 })),
  }),
  personalData: [],
  aliases: [],
});

export const stockReserved = defineEvent({
  type: 'stock.reserved',
  version: 1,
  producer: 'catalog',
  kind: 'domain',
  key: ['orderId'],
  subject: 'order',
  urgency: 'background',
  description: 'Every line of an order was reserved (all or nothing); the order saga goes on to payment.',
  schema: Type.Object({
    orderId: OrderId,
    items: Type.Array(StockLine, { minItems: 1 }),
  }),
  personalData: [],
  aliases: [],
});

export const stockReservationFailed = defineEvent({
  type: 'stock.reservation_failed',
  version: 1,
  producer: 'catalog',
  kind: 'domain',
  key: ['orderId'],
  subject: 'order',
  urgency: 'background',
  description: 'An order could not be reserved; nothing was held. Names the first line that failed. The order saga cancels the order.',
  schema: Type.Object({
    orderId: OrderId,
    productId: ProductId,
    requested: Quantity(),
    available: Type.Integer({ minimum: 0, maximum: MAX_INT32 }),
    reason: Type.Union([Type.Literal('insufficient_stock'), Type.Literal('unknown_product'), Type.Literal('inactive_product')]),
  }),
  personalData: [],
  aliases: [],
});

export const stockReleased = defineEvent({
  type: 'stock.released',
  version: 1,
  producer: 'catalog',
  kind: 'domain',
  key: ['orderId'],
  subject: 'order',
  urgency: 'background',
  description: 'Stock reserved for an order was given back (compensation after a cancellation).',
  schema: Type.Object({
    orderId: OrderId,
    items: Type.Array(StockLine, { minItems: 1 }),
    reason: Type.Union([Type.Literal('order_cancelled'), Type.Literal('reservation_expired')]),
  }),
  personalData: [],
  aliases: [],
});

export const stockLow = defineEvent({
  type: 'stock.low',
  version: 1,
  producer: 'catalog',
  kind: 'domain',
  key: ['productId'],
  subject: 'product',
  urgency: 'background',
  description: 'On-hand stock fell to or below the product threshold: an alert for admins and reordering (seed 002 StockLow; `current_stock` is `onHand`).',
  schema: Type.Object({
    productId: ProductId,
    sku: Type.String({ minLength: 1, maxLength: 64 }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    onHand: OnHand,
    threshold: Type.Integer({ minimum: 0, maximum: MAX_INT32 }),
  }),
  personalData: [],
  aliases: ['StockLow'],
});

export const catalogEvents = [
  productCreated,
  productUpdated,
  stockAdjusted,
  stockReserved,
  stockReservationFailed,
  stockReleased,
  stockLow,
] as const;
