/**
 * Field schemas shared by several event types, so one concept has one shape across the catalog.
 */
import { Type } from '@sinclair/typebox';

/** An entity id: a string, UUIDv7 when our services mint it (other producers may use their own). */
export const Id = (description: string) => Type.String({ minLength: 1, maxLength: 128, description });

/**
 * The largest amount of money in minor units an event may carry — a price, a line, a total, a
 * charge, a refund: 2 000 000 000 (20 000 000.00 EUR). It fits the PostgreSQL `integer` columns
 * the services keep prices in (and the `bigint` ones of totals and payments) and is a safe
 * JavaScript integer. Services refuse a cart or an order whose total would pass it.
 */
export const MAX_CENTS = 2_000_000_000;

/**
 * The most units of one product an event may carry in one line, reservation, release or stock
 * change: 1 000 000 000. Two of them still fit a PostgreSQL `integer` column (2^31 − 1). (A
 * quantity times a price can pass 2^53; services compare such products with `MAX_CENTS`, which a
 * rounded product above it still passes, so the comparison stays exact.)
 */
export const MAX_QUANTITY = 1_000_000_000;

/** The largest value of a PostgreSQL `integer` column, 2^31 − 1: the bound of stock on hand, thresholds and catalog numbers. */
export const MAX_INT32 = 2_147_483_647;

/** Money is an integer amount of minor units (cents), 0 to `MAX_CENTS`, plus an ISO 4217 currency code. */
export const Cents = (description: string) => Type.Integer({ minimum: 0, maximum: MAX_CENTS, description });

/** A number of units of one product, 1 to `MAX_QUANTITY`. */
export const Quantity = (description?: string) => Type.Integer({ minimum: 1, maximum: MAX_QUANTITY, ...(description ? { description } : {}) });

/** ISO 4217 currency code, upper case (`EUR`, `USD`). */
export const Currency = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 currency code, e.g. EUR.' });

/** RFC 3339 timestamp. */
export const Timestamp = (description: string) => Type.String({ format: 'date-time', description });

export const Email = Type.String({ format: 'email', maxLength: 254, description: 'E-mail address (personal data).' });

export const PersonName = Type.String({ minLength: 1, maxLength: 200, description: 'Display name (personal data).' });

/** A quantity of one product, as reserved or released by the catalog. */
export const StockLine = Type.Object({
  productId: Id('The product.'),
  quantity: Quantity(),
});

/** One line of an order or a checked-out cart, with the unit price agreed at that moment. */
export const LineItem = Type.Object({
  productId: Id('The product.'),
  quantity: Quantity(),
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
