/**
 * The orders context and the order saga (a process manager: saga.ts decides, handlers.ts applies).
 * Reactions: `orders.replicas` (customers and prices), `orders.saga` (stock, payment and shipment
 * answers), `orders.checkout` (carts becoming orders) and `orders.payment-timeout` — a delayed
 * subscription on `order.placed` that fires once the payment timeout has passed, so the deadline is
 * as durable as the log and needs no timer table.
 */
import { busTablesMigration } from '../../bus/index.ts';
import { readSettings } from '../../platform/settings.ts';
import { startServiceRuntime } from '../runtime.ts';
import type { ServiceDefinition } from '../service.ts';
import type { OrderEvent } from './events.ts';
import { checkoutReads, ordersReactions, paymentTimeoutReads, replicaReads, sagaReads } from './handlers.ts';
import { ordersTables } from './migrations/001_orders.ts';
import { registerOrdersRoutes } from './routes.ts';
import { ordersSettings } from './settings.ts';
import type { OrdersDatabase } from './store.ts';

export const ordersMigrations = { '000_bus': busTablesMigration, '001_orders': ordersTables };
export { ordersSettings };

export interface OrdersServiceOptions {
  /** The database: SQLite file stem or PostgreSQL schema. (Default: `orders`) */
  readonly databaseName?: string;
}

export function ordersService(options: OrdersServiceOptions = {}): ServiceDefinition {
  return {
    name: 'orders',
    /** What its subscriptions read (issue 14). */
    reads: [replicaReads, sagaReads, checkoutReads, paymentTimeoutReads],
    settings: ordersSettings,
    async start(context) {
      const { FLAMINGO_PAYMENT_TIMEOUT_MS: paymentTimeoutMs } = readSettings(ordersSettings, context.env);
      return startServiceRuntime<OrdersDatabase, OrderEvent>(context, { name: 'orders', databaseName: options.databaseName, migrations: ordersMigrations }, async (runtime) => {
        registerOrdersRoutes(context.http, { db: runtime.db, write: runtime.write });
        // One call each: every reaction declares other reads, so each is typed on its own.
        const [replicas, saga, checkout, paymentTimeout] = ordersReactions({ logger: context.logger }, { paymentTimeoutMs });
        await runtime.react(replicas);
        await runtime.react(saga);
        await runtime.react(checkout);
        await runtime.react(paymentTimeout);
        if (runtime.workers) context.logger.info({ paymentTimeoutMs }, 'orders saga running');
      });
    },
  };
}
