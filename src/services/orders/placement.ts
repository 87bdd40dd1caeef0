import type { Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { EventData } from '../../contracts/index.ts';
import { handleSagaMessage } from './apply.ts';
import { orderEvent, type Cause, type OrderEvent } from './events.ts';
import { placed, refused, type CancellationReason, type LineItem } from './saga.ts';
import { ordersStore, type OrdersDatabase } from './store.ts';

export interface NewOrder {
  readonly orderId: string;
  readonly userId: string;
  readonly items: readonly LineItem[];
  readonly totalCents: number;
  readonly currency: string;
  /** Handed to payments in `order.placed` (a secret only payments reads); not stored by orders. */
  readonly paymentToken?: string;
  /** Handed to fulfillment in `order.placed`; orders does not keep it. */
  readonly shippingAddress?: EventData<'order.placed'>['shippingAddress'];
  readonly cartId?: string;
}

/**
 * Places an order in the caller's transaction: the order (status `pending`) and its first history
 * entry; returns `order.placed` to publish in that transaction. `undefined` when an order with this
 * id exists (nothing written).
 */
export async function placeOrder(trx: Kysely<OrdersDatabase>, order: NewOrder, cause?: Cause): Promise<OrderEvent[] | undefined> {
  const at = new Date().toISOString();
  const state = placed(order);
  if (!(await ordersStore.insert(trx, state, at, order.cartId))) return undefined;
  const eventId = uuidv7();
  await ordersStore.appendHistory(trx, order.orderId, [{ status: 'pending', at, eventId, eventType: 'order.placed' }]);
  return [
    orderEvent(
      'order.placed',
      eventId,
      {
        orderId: order.orderId,
        userId: order.userId,
        items: [...order.items],
        totalCents: order.totalCents,
        currency: order.currency,
        ...(order.paymentToken === undefined ? {} : { paymentToken: order.paymentToken }),
        ...(order.shippingAddress === undefined ? {} : { shippingAddress: order.shippingAddress }),
      },
      cause,
    ),
  ];
}

/**
 * Records a checkout that will not become an order (issue 7): the order, already cancelled with
 * `reason` and `detail` and its one history entry; returns `order.cancelled` to publish (nothing
 * reserved, nothing paid) — never `order.placed`, so stock and payments are not touched.
 * `undefined` when an order with this id exists (nothing written).
 */
export async function refuseOrder(
  trx: Kysely<OrdersDatabase>,
  order: NewOrder,
  cancellation: { readonly reason: CancellationReason; readonly detail: string },
  cause?: Cause,
): Promise<OrderEvent[] | undefined> {
  const at = new Date().toISOString();
  const decision = refused(order, cancellation.reason, cancellation.detail);
  if (!(await ordersStore.insert(trx, decision.state, at, order.cartId))) return undefined;
  const [cancelled] = decision.publish;
  const eventId = uuidv7();
  await ordersStore.appendHistory(trx, order.orderId, [{ status: 'cancelled', at, eventId, eventType: cancelled.type }]);
  return [orderEvent('order.cancelled', eventId, cancelled.data as EventData<'order.cancelled'>, cause)];
}

/** Cancels orders that are not paid yet when their customer is banned (an immediate `user.banned`); the cancellations to publish. */
export async function cancelUnpaidOrdersOf(
  trx: Kysely<OrdersDatabase>,
  ban: { userId: string; reason: string; bannedBy: string },
  origin: { id: string; type: string; correlationid?: string },
): Promise<{ cancelled: number; events: OrderEvent[] }> {
  let cancelled = 0;
  const events: OrderEvent[] = [];
  for (const orderId of await ordersStore.unpaidOf(trx, ban.userId)) {
    const handled = await handleSagaMessage(trx, orderId, { type: 'user.banned', data: ban }, origin);
    if (handled?.decision.kind === 'changed') cancelled += 1;
    if (handled) events.push(...handled.events);
  }
  return { cancelled, events };
}
