/**
 * The shop's staff, driven by the event log: the warehouse dispatches and the carrier delivers each
 * shipment a moment after it is created, a buyer restocks a product when `stock.low` says so, and
 * the outcome of every order of this run is counted.
 */
import type { ShopClient, StoredEvent } from './shop-client.ts';
import { recordError, type SimulationStats } from './stats.ts';

export const FOLLOWED_TYPES = ['order.placed', 'order.confirmed', 'order.cancelled', 'order.completed', 'shipment.created', 'stock.low', 'review.flagged'] as const;

export interface BackOfficeOptions {
  readonly client: ShopClient;
  readonly stats: SimulationStats;
  /** This run's orders (others on the same server are not counted). */
  readonly ours: ReadonlyMap<string, number>;
  /** This run's products (only these are restocked). */
  readonly productIds: ReadonlySet<string>;
  /** Units added when a product runs low. */
  readonly restockUnits: number;
  /** Delay before dispatch and again before delivery, drawn from this range in ms. (Default: [100, 800]) */
  readonly shippingDelayMs?: readonly [number, number];
  /** Ship and restock; false for a run that only measures orders. (Default: true) */
  readonly act?: boolean;
  random(): number;
}

export interface BackOffice {
  onEvent(event: StoredEvent): void;
  /** Work still scheduled or running (dispatches, deliveries, restocks). */
  pending(): number;
  /** Cancels what has not started and waits for what has. */
  stop(): Promise<void>;
}

export function createBackOffice(options: BackOfficeOptions): BackOffice {
  const { client, stats, ours } = options;
  const [minDelay, maxDelay] = options.shippingDelayMs ?? [100, 800];
  const placedAt = new Map<string, number>();
  const restocking = new Set<string>();
  const timers = new Set<NodeJS.Timeout>();
  const running = new Set<Promise<void>>();
  let stopped = false;

  const run = (work: () => Promise<void>) => {
    const task = work().catch((error: unknown) => recordError(stats, error));
    const tracked = task.finally(() => running.delete(tracked));
    running.add(tracked);
  };
  const later = (work: () => Promise<void>) => {
    if (stopped) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      run(work);
    }, minDelay + options.random() * (maxDelay - minDelay));
    timers.add(timer);
  };

  const orderOf = (event: StoredEvent) => String(event.data.orderId ?? '');

  return {
    onEvent(event) {
      switch (event.type) {
        case 'order.placed':
          if (ours.has(orderOf(event))) placedAt.set(orderOf(event), Date.parse(event.recordedtime));
          return;
        case 'order.confirmed': {
          const id = orderOf(event);
          if (!ours.has(id)) return;
          stats.confirmed++;
          const start = placedAt.get(id) ?? ours.get(id);
          if (start !== undefined) stats.confirmLatencies.push(Math.max(0, Date.parse(event.recordedtime) - start));
          placedAt.delete(id);
          return;
        }
        case 'order.cancelled': {
          if (!ours.has(orderOf(event))) return;
          stats.cancelled++;
          const reason = String(event.data.reason ?? 'unknown');
          stats.cancelledBy[reason] = (stats.cancelledBy[reason] ?? 0) + 1;
          placedAt.delete(orderOf(event));
          return;
        }
        case 'order.completed':
          if (ours.has(orderOf(event))) stats.completed++;
          return;
        case 'shipment.created': {
          if (!ours.has(orderOf(event)) || options.act === false) return;
          const shipmentId = String(event.data.shipmentId);
          later(async () => {
            await client.dispatch(shipmentId);
            stats.shipmentsDispatched++;
            later(async () => {
              await client.deliver(shipmentId);
              stats.shipmentsDelivered++;
            });
          });
          return;
        }
        case 'stock.low': {
          const productId = String(event.data.productId);
          if (!options.productIds.has(productId) || options.act === false || restocking.has(productId) || stopped) return;
          restocking.add(productId);
          run(async () => {
            try {
              await client.adjustStock(productId, options.restockUnits, 'restock');
              stats.restocks++;
            } finally {
              restocking.delete(productId);
            }
          });
          return;
        }
        case 'review.flagged':
          if (options.productIds.has(String(event.data.productId))) stats.reviewsFlagged++;
          return;
      }
    },
    pending: () => timers.size + running.size,
    async stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.all([...running]);
    },
  };
}
