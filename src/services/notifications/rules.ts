/**
 * Which events become notifications, declared in one place (issue 9): for each event type, the
 * category (the unit of preferences), the title and body a customer reads, and the order it is
 * about. The recipient is the event's `userId`, else the owner of its order (from `order.placed`).
 * Urgency is the catalog's: `immediate` types run in their own lane (see `handlers.ts`).
 */
import { declareReads, findDefinition, type EventData, type EventType, type ReadData, type ReadsOf } from '../../contracts/index.ts';
import type { NotificationCategory } from './store.ts';

/**
 * What notifications reads of each type (issue 14): the customer and order an event is about, what
 * its title and body say, and what `learn` keeps (a customer's address and name, an order's owner).
 * A rule reading another field does not compile.
 */
export const notificationsReads = declareReads('notifications', {
  'order.confirmed': ['orderId', 'userId', 'totalCents', 'currency'],
  'order.cancelled': ['orderId', 'userId', 'reason', 'detail', 'paymentId'],
  'payment.failed': ['orderId', 'userId', 'amountCents', 'currency', 'error'],
  'payment.refunded': ['orderId', 'userId', 'amountCents', 'currency', 'reason'],
  'shipment.dispatched': ['orderId', 'userId', 'carrier', 'trackingNumber', 'trackingUrl'],
  'shipment.delivered': ['orderId', 'userId', 'carrier'],
  'user.registered': ['userId', 'email', 'name'],
  'user.updated': ['userId', 'email', 'name'],
  'user.banned': ['userId', 'reason', 'until'],
  'order.placed': ['orderId', 'userId'],
});
export type NotificationsReads = ReadsOf<typeof notificationsReads>;
type ReadType = keyof NotificationsReads;

export interface NotificationRule<T extends ReadType> {
  readonly category: NotificationCategory;
  title(data: ReadData<NotificationsReads, T>): string;
  body(data: ReadData<NotificationsReads, T>): string;
}

type Rules = { readonly [T in ReadType]?: NotificationRule<T> };

/** Money for people: 1999 EUR → "€19.99". */
export function formatMoney(cents: number, currency: string): string {
  try {
    return new Intl.NumberFormat('en-GB', { style: 'currency', currency }).format(cents / 100);
  } catch {
    return `${(cents / 100).toFixed(2)} ${currency}`;
  }
}

/** The short form of an order id customers see: its last 8 characters. */
export const orderNumber = (orderId: string) => orderId.slice(-8).toUpperCase();

const CANCELLATION: Record<EventData<'order.cancelled'>['reason'], string> = {
  out_of_stock: 'an item is out of stock',
  payment_failed: 'the payment failed',
  payment_timeout: 'no payment arrived in time',
  customer_request: 'you asked us to cancel it',
  user_banned: 'the account was suspended',
  fraud_suspected: 'we could not verify the payment',
  admin: 'our team cancelled it',
};

export const RULES: Rules = {
  'order.confirmed': {
    category: 'order',
    title: (d) => `Order ${orderNumber(d.orderId)} confirmed`,
    body: (d) => `We received your payment of ${formatMoney(d.totalCents, d.currency)} and are packing your order.`,
  },
  'order.cancelled': {
    category: 'order',
    title: (d) => `Order ${orderNumber(d.orderId)} cancelled`,
    body: (d) =>
      `Your order was cancelled because ${CANCELLATION[d.reason]}.` +
      (d.detail ? ` ${d.detail}` : '') +
      (d.paymentId ? ' Any payment taken will be refunded.' : ''),
  },
  'payment.failed': {
    category: 'payment',
    title: (d) => `Payment for order ${orderNumber(d.orderId)} failed`,
    body: (d) =>
      `We could not charge ${d.amountCents !== undefined && d.currency ? formatMoney(d.amountCents, d.currency) : 'your payment'}: ${d.error}.`,
  },
  'payment.refunded': {
    category: 'payment',
    title: (d) => `Refund for order ${orderNumber(d.orderId)}`,
    body: (d) => `We refunded ${formatMoney(d.amountCents, d.currency)} (${d.reason}). It reaches your account in a few days.`,
  },
  'shipment.dispatched': {
    category: 'shipping',
    title: (d) => `Order ${orderNumber(d.orderId)} is on its way`,
    body: (d) => `Your parcel left with ${d.carrier}, tracking number ${d.trackingNumber}.` + (d.trackingUrl ? ` Track it at ${d.trackingUrl}.` : ''),
  },
  'shipment.delivered': {
    category: 'shipping',
    title: (d) => `Order ${orderNumber(d.orderId)} delivered`,
    body: (d) => `Your parcel was delivered${d.carrier ? ` by ${d.carrier}` : ''}. Enjoy!`,
  },
  'user.registered': {
    category: 'account',
    title: (d) => `Welcome to Flamingo, ${d.name}`,
    body: () => 'Your account is ready. Your orders, their progress and every message from us are in one place: your account page.',
  },
  'user.banned': {
    category: 'security',
    title: () => 'Your account was suspended',
    body: (d) => `An administrator suspended your account (${d.reason})${d.until ? ` until ${d.until}` : ''}. Open orders may be cancelled.`,
  },
};

export const RULE_TYPES = Object.keys(RULES) as ReadType[];

/** The catalog urgency of a type (`immediate` types overtake background work). */
export function urgencyOf(type: EventType): 'immediate' | 'background' {
  return findDefinition(type)?.urgency ?? 'background';
}

export function ruleFor<T extends ReadType>(type: T): NotificationRule<T> | undefined {
  return RULES[type] as NotificationRule<T> | undefined;
}
