/**
 * The order saga as a pure process manager: `decide(order, message)` says what an incoming event
 * means for one order — its new state, the status transitions and the events the orders service
 * publishes because of it. No I/O, no clock, no ids: the handler (handlers.ts) supplies those.
 *
 * Choreography: orders publishes `order.placed`; the catalog reserves stock (`stock.reserved` /
 * `stock.reservation_failed`); payments charges on `stock.reserved` (so a payment never comes before
 * the reservation); fulfillment ships on `order.confirmed`; the catalog releases stock and payments
 * refunds on `order.cancelled`.
 */
import type { EventData } from '../../contracts/index.ts';

export const ORDER_STATUSES = ['pending', 'stock_reserved', 'paid', 'confirmed', 'shipped', 'delivered', 'completed', 'cancelled'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];
export type CancellationReason = EventData<'order.cancelled'>['reason'];
export type LineItem = EventData<'order.placed'>['items'][number];

export type ShipmentStatus = 'created' | 'dispatched' | 'delivered';

/** What the saga remembers about one order. */
export interface OrderState {
  readonly orderId: string;
  readonly userId: string;
  readonly items: readonly LineItem[];
  readonly totalCents: number;
  readonly currency: string;
  readonly status: OrderStatus;
  readonly stockReserved: boolean;
  /** Set by `payment.succeeded`, even when it arrives out of turn. */
  readonly paymentId?: string;
  readonly cancellation?: { readonly reason: CancellationReason; readonly detail?: string };
  /** Shipments of the order by id: the order is delivered when every one of them is. */
  readonly shipments: Readonly<Record<string, ShipmentStatus>>;
}

/** What the saga reacts to: the other contexts' events, plus two facts the orders service observes itself. */
export type SagaMessage =
  | { readonly type: 'stock.reserved'; readonly data: Pick<EventData<'stock.reserved'>, 'orderId'> }
  | { readonly type: 'stock.reservation_failed'; readonly data: Pick<EventData<'stock.reservation_failed'>, 'orderId' | 'productId' | 'requested' | 'available' | 'reason'> }
  | { readonly type: 'payment.succeeded'; readonly data: Pick<EventData<'payment.succeeded'>, 'orderId' | 'paymentId' | 'amountCents' | 'currency'> }
  | { readonly type: 'payment.failed'; readonly data: Pick<EventData<'payment.failed'>, 'orderId' | 'error'> }
  | { readonly type: 'shipment.created'; readonly data: Pick<EventData<'shipment.created'>, 'orderId' | 'shipmentId'> }
  | { readonly type: 'shipment.dispatched'; readonly data: Pick<EventData<'shipment.dispatched'>, 'orderId' | 'shipmentId'> }
  | { readonly type: 'shipment.delivered'; readonly data: Pick<EventData<'shipment.delivered'>, 'orderId' | 'shipmentId'> }
  /** The payment deadline of the order passed (the delayed `orders.payment-timeout` subscription). */
  | { readonly type: 'payment.deadline_passed'; readonly data: { readonly orderId: string; readonly timeoutMs: number } }
  /** The customer was banned (`user.banned`): orders not yet paid are cancelled. */
  | { readonly type: 'user.banned'; readonly data: Pick<EventData<'user.banned'>, 'userId' | 'reason' | 'bannedBy'> };

/** An event the saga publishes. */
export type SagaEvent =
  | { readonly type: 'order.confirmed'; readonly data: EventData<'order.confirmed'> }
  | { readonly type: 'order.cancelled'; readonly data: EventData<'order.cancelled'> }
  | { readonly type: 'order.completed'; readonly data: EventData<'order.completed'> };

/** One status change and what caused it: the incoming message, or the n-th published event. */
export interface Transition {
  readonly status: OrderStatus;
  readonly cause: { readonly kind: 'message' } | { readonly kind: 'published'; readonly index: number };
}

/** The outcome of one message, Emmett-style: a new state and what to publish, or why nothing happens. */
export type Decision =
  | { readonly kind: 'changed'; readonly state: OrderState; readonly transitions: readonly Transition[]; readonly publish: readonly SagaEvent[] }
  | { readonly kind: 'ignored'; readonly reason: string };

/** Statuses from which the order can still be cancelled without a refund being needed from us. */
const UNPAID: readonly OrderStatus[] = ['pending', 'stock_reserved'];
const TERMINAL: readonly OrderStatus[] = ['completed', 'cancelled'];

/** The state of a freshly placed order. */
export function placed(order: Pick<OrderState, 'orderId' | 'userId' | 'items' | 'totalCents' | 'currency'>): OrderState {
  return { ...order, status: 'pending', stockReserved: false, shipments: {} };
}

/** A decision that changes the order. */
export type Change = Extract<Decision, { kind: 'changed' }>;

/**
 * A checkout refused before its order was placed (a price that is not the catalog's, a banned
 * customer; issue 7): the order is recorded cancelled and only `order.cancelled` is published, so
 * no stock is reserved and nothing is charged.
 */
export function refused(order: Pick<OrderState, 'orderId' | 'userId' | 'items' | 'totalCents' | 'currency'>, reason: CancellationReason, detail: string): Change {
  return cancel(placed(order), reason, detail) as Change;
}

const fromMessage: Transition['cause'] = { kind: 'message' };
const ignored = (reason: string): Decision => ({ kind: 'ignored', reason });

function cancel(state: OrderState, reason: CancellationReason, detail: string | undefined, leading: readonly Transition[] = []): Decision {
  const next: OrderState = { ...state, status: 'cancelled', cancellation: detail === undefined ? { reason } : { reason, detail } };
  const data: EventData<'order.cancelled'> = {
    orderId: state.orderId,
    userId: state.userId,
    reason,
    stockReserved: state.stockReserved,
    ...(detail === undefined ? {} : { detail: detail.slice(0, 1000) }),
    ...(state.paymentId === undefined ? {} : { paymentId: state.paymentId }),
  };
  return {
    kind: 'changed',
    state: next,
    transitions: [...leading, { status: 'cancelled', cause: { kind: 'published', index: 0 } }],
    publish: [{ type: 'order.cancelled', data }],
  };
}

/** paid → confirmed in one step: the confirmation is the saga's own event, published with the payment's effect. */
function confirm(state: OrderState, paymentId: string, leading: readonly Transition[]): Decision {
  const next: OrderState = { ...state, status: 'confirmed', paymentId };
  return {
    kind: 'changed',
    state: next,
    transitions: [...leading, { status: 'paid', cause: fromMessage }, { status: 'confirmed', cause: { kind: 'published', index: 0 } }],
    publish: [
      {
        type: 'order.confirmed',
        data: {
          orderId: state.orderId,
          userId: state.userId,
          paymentId,
          items: [...state.items],
          totalCents: state.totalCents,
          currency: state.currency,
        },
      },
    ],
  };
}

function allDelivered(shipments: Readonly<Record<string, ShipmentStatus>>): boolean {
  const all = Object.values(shipments);
  return all.length > 0 && all.every((s) => s === 'delivered');
}

/** What `message` means for the order in `state`. */
export function decide(state: OrderState, message: SagaMessage): Decision {
  if (TERMINAL.includes(state.status) && message.type !== 'payment.succeeded') {
    return ignored(`order is ${state.status}`);
  }
  switch (message.type) {
    case 'stock.reserved': {
      if (state.status !== 'pending') return ignored(`stock already handled (order is ${state.status})`);
      const reserved: OrderState = { ...state, status: 'stock_reserved', stockReserved: true };
      const transitions: Transition[] = [{ status: 'stock_reserved', cause: fromMessage }];
      // A payment that overtook the reservation was kept: the order can be confirmed now.
      if (state.paymentId !== undefined) return confirm(reserved, state.paymentId, transitions);
      return { kind: 'changed', state: reserved, transitions, publish: [] };
    }
    case 'stock.reservation_failed': {
      if (state.status !== 'pending') return ignored(`stock already handled (order is ${state.status})`);
      const { productId, requested, available, reason } = message.data;
      return cancel(state, 'out_of_stock', `${reason} for product ${productId}: requested ${requested}, available ${available}`);
    }
    case 'payment.succeeded': {
      if (state.status === 'cancelled') return ignored('order already cancelled; payments refunds the charge on order.cancelled');
      if (state.status === 'completed') return ignored('order already completed');
      if (state.paymentId !== undefined) return ignored('order already paid');
      // Money is not taken on trust (issue 7): only a payment of the order's own total settles it.
      const { amountCents, currency } = message.data;
      if (amountCents !== state.totalCents || currency !== state.currency) {
        return ignored(`a payment of ${amountCents} ${currency} does not settle an order of ${state.totalCents} ${state.currency}`);
      }
      if (state.status === 'pending') {
        // Out of turn (payments charges on stock.reserved): remember it and confirm once stock is reserved.
        return { kind: 'changed', state: { ...state, paymentId: message.data.paymentId }, transitions: [], publish: [] };
      }
      return confirm(state, message.data.paymentId, []);
    }
    case 'payment.failed': {
      if (!UNPAID.includes(state.status)) return ignored(`order is ${state.status}`);
      return cancel(state, 'payment_failed', message.data.error);
    }
    case 'payment.deadline_passed': {
      if (!UNPAID.includes(state.status) || state.paymentId !== undefined) return ignored(`order is ${state.status}; the deadline no longer applies`);
      return cancel(state, 'payment_timeout', `no payment within ${message.data.timeoutMs} ms`);
    }
    case 'user.banned': {
      if (!UNPAID.includes(state.status) || state.paymentId !== undefined) return ignored(`order is ${state.status}; a paid order is not cancelled by a ban`);
      return cancel(state, 'user_banned', message.data.reason);
    }
    case 'shipment.created': {
      if (state.shipments[message.data.shipmentId] !== undefined) return ignored('shipment already known');
      const shipments = { ...state.shipments, [message.data.shipmentId]: 'created' as const };
      return { kind: 'changed', state: { ...state, shipments }, transitions: [], publish: [] };
    }
    case 'shipment.dispatched': {
      if (state.status !== 'confirmed' && state.status !== 'shipped') return ignored(`order is ${state.status}, not confirmed`);
      const current = state.shipments[message.data.shipmentId];
      if (current === 'dispatched' || current === 'delivered') return ignored('shipment already dispatched');
      const shipments = { ...state.shipments, [message.data.shipmentId]: 'dispatched' as const };
      const transitions: Transition[] = state.status === 'shipped' ? [] : [{ status: 'shipped', cause: fromMessage }];
      return { kind: 'changed', state: { ...state, status: 'shipped', shipments }, transitions, publish: [] };
    }
    case 'shipment.delivered': {
      if (state.status !== 'confirmed' && state.status !== 'shipped') return ignored(`order is ${state.status}, not shipped`);
      if (state.shipments[message.data.shipmentId] === 'delivered') return ignored('shipment already delivered');
      const shipments = { ...state.shipments, [message.data.shipmentId]: 'delivered' as const };
      const transitions: Transition[] = state.status === 'confirmed' ? [{ status: 'shipped', cause: fromMessage }] : [];
      if (!allDelivered(shipments)) {
        return { kind: 'changed', state: { ...state, status: 'shipped', shipments }, transitions, publish: [] };
      }
      const completed: OrderState = { ...state, status: 'completed', shipments };
      return {
        kind: 'changed',
        state: completed,
        transitions: [...transitions, { status: 'delivered', cause: fromMessage }, { status: 'completed', cause: { kind: 'published', index: 0 } }],
        publish: [
          {
            type: 'order.completed',
            data: { orderId: state.orderId, userId: state.userId, totalCents: state.totalCents, currency: state.currency },
          },
        ],
      };
    }
  }
}
