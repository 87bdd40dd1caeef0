/**
 * What each event about an order means on its timeline: a sentence a customer reads, and the
 * order's status after it (absent: unchanged). One table, in the order of an order's life.
 */
import { declareReads, type ReadData, type ReadsOf } from '../../contracts/index.ts';
import type { OrderStatus } from './store.ts';

/** A formatter per currency code, made once (making one costs far more than formatting); null for a code Intl refuses. */
const formats = new Map<string, Intl.NumberFormat | null>();
const money = (cents: number, currency: string) => {
  let format = formats.get(currency);
  if (format === undefined) {
    try {
      format = new Intl.NumberFormat('en-GB', { style: 'currency', currency });
    } catch {
      format = null;
    }
    // Codes come from events: a bounded cache, so odd codes cannot grow it without end.
    if (formats.size < 1_000) formats.set(currency, format);
  }
  return format ? format.format(cents / 100) : `${(cents / 100).toFixed(2)} ${currency}`;
};
const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/**
 * What `hub.orders` reads of each type (issue 14): the order and customer it is about, and what
 * its sentence says. A sentence reading another field does not compile.
 */
export const ordersReads = declareReads('hub.orders', {
  'cart.checked_out': ['orderId', 'userId'],
  'order.placed': ['orderId', 'userId', 'items', 'totalCents', 'currency'],
  'stock.reserved': ['orderId'],
  'stock.reservation_failed': ['orderId', 'reason', 'available', 'requested'],
  'payment.succeeded': ['orderId', 'userId', 'amountCents', 'currency'],
  'payment.failed': ['orderId', 'userId', 'error'],
  'payment.refunded': ['orderId', 'userId', 'amountCents', 'currency', 'reason'],
  'order.confirmed': ['orderId', 'userId'],
  'shipment.created': ['orderId', 'userId'],
  'shipment.dispatched': ['orderId', 'userId', 'carrier', 'trackingNumber'],
  'shipment.delivered': ['orderId', 'userId'],
  'order.completed': ['orderId', 'userId'],
  'order.cancelled': ['orderId', 'userId', 'reason', 'detail'],
});
type OrdersReads = ReadsOf<typeof ordersReads>;
type OrderType = keyof OrdersReads;

interface Meaning<T extends OrderType> {
  readonly status?: OrderStatus;
  sentence(data: ReadData<OrdersReads, T>): string;
}

type Meanings = { readonly [T in OrderType]: Meaning<T> };

export const MEANINGS: Meanings = {
  'cart.checked_out': { sentence: () => 'You checked out your cart.' },
  'order.placed': {
    status: 'placed',
    sentence: (d) => `You placed the order: ${plural(d.items.reduce((n, i) => n + i.quantity, 0), 'item')}, ${money(d.totalCents, d.currency)}.`,
  },
  'stock.reserved': { sentence: () => 'Your items are reserved for you.' },
  'stock.reservation_failed': {
    sentence: (d) => (d.reason === 'insufficient_stock' ? `An item is out of stock (${d.available} left, ${d.requested} ordered).` : 'An item can no longer be ordered.'),
  },
  'payment.succeeded': { status: 'paid', sentence: (d) => `Payment of ${money(d.amountCents, d.currency)} received.` },
  'payment.failed': { sentence: (d) => `Payment failed: ${d.error}.` },
  'payment.refunded': { sentence: (d) => `${money(d.amountCents, d.currency)} refunded (${d.reason}).` },
  'order.confirmed': { status: 'confirmed', sentence: () => 'Order confirmed: it will be shipped.' },
  'shipment.created': { sentence: () => 'Your parcel is being packed.' },
  'shipment.dispatched': { status: 'dispatched', sentence: (d) => `Dispatched with ${d.carrier}, tracking number ${d.trackingNumber}.` },
  'shipment.delivered': { status: 'delivered', sentence: () => 'Delivered.' },
  'order.completed': { status: 'completed', sentence: () => 'Order completed. Thank you!' },
  'order.cancelled': { status: 'cancelled', sentence: (d) => `Order cancelled (${d.reason.replace(/_/g, ' ')})${d.detail ? `: ${d.detail}` : ''}.` },
};

/** The order events the hub projects. */
export const ORDER_TYPES = ordersReads.types;

export function meaningOf<T extends OrderType>(type: T): Meaning<T> | undefined {
  return MEANINGS[type] as Meaning<T> | undefined;
}
