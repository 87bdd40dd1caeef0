import type { Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import { orderEvent, type Cause, type OrderEvent } from './events.ts';
import { decide, type Decision, type SagaMessage } from './saga.ts';
import { ordersStore, type HistoryEntry, type OrdersDatabase, type StoredOrder } from './store.ts';

/** The event a saga message came from; a message the service observes itself names its own cause. */
export interface MessageOrigin extends Cause {
  readonly type: string;
}

/**
 * Carries out a saga decision inside the caller's transaction: saves the order (optimistically, at
 * the version read), appends each transition to its history with the event that caused it, and
 * returns the events the saga publishes (for the caller's transaction), ids minted here so history
 * can name them.
 */
export async function applyDecision(trx: Kysely<OrdersDatabase>, order: StoredOrder, decision: Decision, origin: MessageOrigin, at: string): Promise<OrderEvent[]> {
  if (decision.kind === 'ignored') return [];
  const ids = decision.publish.map(() => uuidv7());
  await ordersStore.save(trx, decision.state, order.version, at);
  const history: HistoryEntry[] = decision.transitions.map((t) =>
    t.cause.kind === 'message'
      ? { status: t.status, at, eventId: origin.id, eventType: origin.type }
      : { status: t.status, at, eventId: ids[t.cause.index], eventType: decision.publish[t.cause.index].type },
  );
  await ordersStore.appendHistory(trx, order.state.orderId, history);
  return decision.publish.map((event, i) => orderEvent(event.type, ids[i], event.data, origin) as OrderEvent);
}

/** Loads the order, decides `message` and applies the decision (its events to publish); `undefined` when the order is not ours. */
export async function handleSagaMessage(
  trx: Kysely<OrdersDatabase>,
  orderId: string,
  message: SagaMessage,
  origin: MessageOrigin,
): Promise<{ decision: Decision; events: OrderEvent[] } | undefined> {
  const order = await ordersStore.load(trx, orderId);
  if (!order) return undefined;
  const decision = decide(order.state, message);
  return { decision, events: await applyDecision(trx, order, decision, origin, new Date().toISOString()) };
}
