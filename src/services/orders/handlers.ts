/**
 * What the orders context reacts to: the service runtime's reactions (`orders.<purpose>`). Each
 * runs inside the transaction the runtime opens for one delivery (so a redelivered event changes
 * nothing) and returns the events it causes, which the runtime adds in that same transaction.
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { failPermanently, retryAfter } from '../../bus/index.ts';
import { declareReads, type ReadData, type ReadEvent, type ReadsOf } from '../../contracts/index.ts';
import { handleSagaMessage } from './apply.ts';
import type { Reaction } from '../runtime.ts';
import type { OrderEvent } from './events.ts';
import { cancelUnpaidOrdersOf, placeOrder, refuseOrder } from './placement.ts';
import { checkPrices } from './pricing.ts';
import type { SagaMessage } from './saga.ts';
import { customersStore, ordersStore, productsStore, type OrdersDatabase } from './store.ts';

export interface HandlerDeps {
  readonly logger: Logger;
}

/** `orders.replicas`: customers from `user.*`, product prices from `product.*`; a ban cancels unpaid orders. */
const PRODUCT = ['productId', 'sku', 'name', 'priceCents', 'currency', 'active'] as const;
export const replicaReads = declareReads('orders.replicas', {
  'user.registered': ['userId'],
  'user.updated': ['userId'],
  'user.banned': ['userId', 'reason', 'bannedBy'],
  'user.unbanned': ['userId'],
  'product.created': PRODUCT,
  'product.updated': PRODUCT,
});
export const REPLICA_TYPES = replicaReads.types;
export type ReplicaEvent = ReadEvent<ReadsOf<typeof replicaReads>>;

export async function onReplicaEvent(deps: HandlerDeps, trx: Kysely<OrdersDatabase>, event: ReplicaEvent): Promise<OrderEvent[]> {
  const at = new Date().toISOString();
  switch (event.type) {
    case 'user.registered':
    case 'user.updated':
      await customersStore.known(trx, event.data.userId, at);
      return [];
    case 'user.unbanned':
      await customersStore.setBanned(trx, event.data.userId, false, at);
      return [];
    case 'user.banned': {
      await customersStore.setBanned(trx, event.data.userId, true, at);
      const { cancelled, events } = await cancelUnpaidOrdersOf(trx, event.data, event);
      if (cancelled > 0) deps.logger.info({ userId: event.data.userId, cancelled }, 'unpaid orders of a banned user cancelled');
      return events;
    }
    case 'product.created':
    case 'product.updated': {
      const { productId, sku, name, priceCents, currency, active } = event.data;
      await productsStore.upsert(trx, { id: productId, sku, name, priceCents, currency, active }, at);
      return [];
    }
  }
}

/** `orders.saga`: the other contexts' answers about an order. */
export const sagaReads = declareReads('orders.saga', {
  'stock.reserved': ['orderId'],
  'stock.reservation_failed': ['orderId', 'productId', 'requested', 'available', 'reason'],
  'payment.succeeded': ['orderId', 'paymentId', 'amountCents', 'currency'],
  'payment.failed': ['orderId', 'error'],
  'shipment.created': ['orderId', 'shipmentId'],
  'shipment.dispatched': ['orderId', 'shipmentId'],
  'shipment.delivered': ['orderId', 'shipmentId'],
});
export const SAGA_TYPES = sagaReads.types;
export type SagaEvent = ReadEvent<ReadsOf<typeof sagaReads>>;
type SagaReads = ReadsOf<typeof sagaReads>;
/** The saga's messages are what `orders.saga` declares: a field the saga needs and the declaration lacks fails to compile here. */
type DeclaredSagaMessage = { [T in SagaEvent['type']]: { readonly type: T; readonly data: ReadData<SagaReads, T> } }[SagaEvent['type']];
const sagaMessageOf = (event: SagaEvent): SagaMessage => ({ type: event.type, data: event.data }) as DeclaredSagaMessage;

export async function onSagaEvent(deps: HandlerDeps, trx: Kysely<OrdersDatabase>, event: SagaEvent): Promise<OrderEvent[]> {
  const message = sagaMessageOf(event);
  const handled = await handleSagaMessage(trx, event.data.orderId, message, event);
  const log = { orderId: event.data.orderId, id: event.id, type: event.type };
  if (handled === undefined) deps.logger.debug(log, 'event about an order this service does not know; ignored');
  else if (handled.decision.kind === 'ignored') deps.logger.info({ ...log, reason: handled.decision.reason }, 'saga ignored the event');
  else deps.logger.debug({ ...log, status: handled.decision.state.status }, 'order moved');
  return handled?.events ?? [];
}

/** `orders.payment-timeout` (delayed by the payment timeout): an order still unpaid is cancelled. */
/** What `orders.payment-timeout` reads. */
export const paymentTimeoutReads = declareReads('orders.payment-timeout', { 'order.placed': ['orderId'] });

export async function onPaymentDeadline(deps: HandlerDeps, trx: Kysely<OrdersDatabase>, event: ReadEvent<ReadsOf<typeof paymentTimeoutReads>>, timeoutMs: number): Promise<OrderEvent[]> {
  const { orderId } = event.data;
  const handled = await handleSagaMessage(trx, orderId, { type: 'payment.deadline_passed', data: { orderId, timeoutMs } }, {
    id: event.id,
    type: 'order.placed',
    correlationid: event.correlationid ?? orderId,
  });
  if (handled?.decision.kind === 'changed') deps.logger.info({ orderId }, 'payment timed out: order cancelled');
  return handled?.events ?? [];
}

/**
 * `orders.checkout`: a checked-out cart becomes the order whose id the cart chose, paid with the
 * token the cart carries (without one, payments fails the order). The money is not taken on trust
 * (issue 7): each line's unit price, the currency and the total must be the orders replica's of the
 * catalog. A checkout that disagrees (`fraud_suspected`, detail `price_mismatch: …`), names an
 * inactive product (`out_of_stock`) or comes from a banned customer (`user_banned`) is recorded as a
 * cancelled order and only `order.cancelled` is published: no stock is reserved, nothing is charged,
 * and the cart sees an outcome. A customer or product the replica does not know yet is retried
 * (the replica may lag).
 */
export const checkoutReads = declareReads('orders.checkout', {
  'cart.checked_out': ['orderId', 'userId', 'cartId', 'items', 'totalCents', 'currency', 'paymentToken'],
});

export async function onCartCheckedOut(deps: HandlerDeps, trx: Kysely<OrdersDatabase>, event: ReadEvent<ReadsOf<typeof checkoutReads>>): Promise<OrderEvent[]> {
  const { orderId, userId, cartId, items, totalCents, currency, paymentToken } = event.data;
  if (await ordersStore.load(trx, orderId)) return [];
  if (userId === undefined) throw failPermanently(`cart ${cartId}: a guest checkout cannot be ordered (orders need a customer)`);
  const customer = await customersStore.get(trx, userId);
  if (!customer) throw retryAfter(2000, `customer ${userId} not in the orders replica yet`);
  const prices = await checkPrices(trx, { items, totalCents, currency });
  if (prices.kind === 'unknown') throw retryAfter(2000, prices.detail);
  const cause = { id: event.id, correlationid: event.correlationid ?? cartId };
  const order = { orderId, userId, items, totalCents, currency, cartId, ...(paymentToken === undefined ? {} : { paymentToken }) };
  const refusal =
    prices.kind === 'refused' ? { reason: prices.reason, detail: prices.detail } : customer.banned ? { reason: 'user_banned' as const, detail: 'customer is banned' } : undefined;
  if (refusal) {
    const events = await refuseOrder(trx, order, refusal, cause);
    deps.logger.warn({ orderId, cartId, id: event.id, source: event.source, ...refusal }, 'checkout refused: no order placed');
    return events ?? [];
  }
  return (await placeOrder(trx, order, cause)) ?? [];
}

/** The orders context's reactions, each its own subscription `orders.<purpose>`. */
export function ordersReactions(deps: HandlerDeps, settings: { readonly paymentTimeoutMs: number }) {
  const replicas: Reaction<OrdersDatabase, OrderEvent, ReadsOf<typeof replicaReads>> = {
    name: 'orders.replicas',
    reads: replicaReads,
    concurrency: 4,
    react: (trx, event) => onReplicaEvent(deps, trx, event),
  };
  const saga: Reaction<OrdersDatabase, OrderEvent, SagaReads> = {
    name: 'orders.saga',
    reads: sagaReads,
    concurrency: 8,
    react: (trx, event) => onSagaEvent(deps, trx, event),
  };
  const checkout: Reaction<OrdersDatabase, OrderEvent, ReadsOf<typeof checkoutReads>> = {
    name: 'orders.checkout',
    reads: checkoutReads,
    concurrency: 4,
    // The customers replica may lag behind a checkout: retry for a while before dead-lettering.
    retry: { maxAttempts: 30, maxDelayMs: 10_000 },
    react: (trx, event) => onCartCheckedOut(deps, trx, event),
  };
  const paymentTimeout: Reaction<OrdersDatabase, OrderEvent, ReadsOf<typeof paymentTimeoutReads>> = {
    name: 'orders.payment-timeout',
    reads: paymentTimeoutReads,
    concurrency: 8,
    delayMs: settings.paymentTimeoutMs,
    react: (trx, event) => onPaymentDeadline(deps, trx, event, settings.paymentTimeoutMs),
  };
  return [replicas, saga, checkout, paymentTimeout] as const;
}
