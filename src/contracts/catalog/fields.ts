/**
 * Field schemas shared by several event types, so one concept has one shape across the catalog.
 */
import { Type } from '@sinclair/typebox';

/** An entity id: a string, UUIDv7 when our services mint it (other producers may use their own). */
export const Id = (description: string) => Type.String({ minLength: 1, maxLength: 128, description });

/** Money is an integer amount of minor units (cents) plus an ISO 4217 currency code. */
export const Cents = (description: string) => Type.Integer({ minimum: 0, description });

/** ISO 4217 currency code, upper case (`EUR`, `USD`). */
export const Currency = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 currency code, e.g. EUR.' });

/** RFC 3339 timestamp. */
export const Timestamp = (description: string) => Type.String({ format: 'date-time', description });

export const Email = Type.String({ format: 'email', maxLength: 254, description: 'E-mail address (personal data).' });

export const PersonName = Type.String({ minLength: 1, maxLength: 200, description: 'Display name (personal data).' });

/** A quantity of one product, as reserved or released by the catalog. */
export const StockLine = Type.Object({
  productId: Id('The product.'),
  quantity: Type.Integer({ minimum: 1 }),
});

/** One line of an order or a checked-out cart, with the unit price agreed at that moment. */
export const LineItem = Type.Object({
  productId: Id('The product.'),
  quantity: Type.Integer({ minimum: 1 }),
  unitPriceCents: Cents('Unit price in minor units, in the order currency.'),
  sku: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Product name at the time of the order.' })),
});

/** A postal address (personal data as a whole). */
export const Address = Type.Object(
  {
    name: PersonName,
    line1: Type.String({ minLength: 1, maxLength: 200 }),
    line2: Type.Optional(Type.String({ maxLength: 200 })),
    postalCode: Type.String({ minLength: 1, maxLength: 20 }),
    city: Type.String({ minLength: 1, maxLength: 100 }),
    country: Type.String({ pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2 country code.' }),
  },
  { description: 'Postal address (personal data).' },
);

/**
 * Why an order was cancelled (and its reserved stock released). A new reason is a breaking
 * change for consumers that switch on it, so the list is generous from the start.
 */
export const CancellationReason = Type.Union(
  [
    Type.Literal('out_of_stock'),
    Type.Literal('payment_failed'),
    Type.Literal('payment_timeout'),
    Type.Literal('customer_request'),
    Type.Literal('user_banned'),
    Type.Literal('fraud_suspected'),
    Type.Literal('admin'),
  ],
  { description: 'Why the order was cancelled.' },
);

/**
 * A short-lived, single-use payment token (a sandbox token such as `tok_ok`), never card data.
 * Only the payments service may use it; other consumers must not store or display it.
 */
export const PaymentToken = Type.String({
  minLength: 1,
  maxLength: 256,
  description: 'Short-lived, single-use payment token (e.g. sandbox `tok_ok`), never card data. Secret: only payments reads it.',
});
