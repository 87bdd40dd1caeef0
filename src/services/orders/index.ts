import { busTablesMigration, handleOnce } from '../../bus/index.ts';
import { startServiceRuntime } from '../runtime.ts';
import type { ServiceDefinition } from '../service.ts';
import { onCartCheckedOut, onPaymentDeadline, onReplicaEvent, onSagaEvent, REPLICA_TYPES, SAGA_TYPES, type HandlerDeps } from './handlers.ts';
import { ordersTables } from './migrations/001_orders.ts';
import { registerOrdersRoutes } from './routes.ts';
import { readOrdersSettings } from './settings.ts';
import type { OrdersDatabase } from './store.ts';

export const ORDERS_MIGRATIONS = { '000_bus': busTablesMigration, '001_orders': ordersTables };

export interface OrdersServiceOptions {
  /** The SQLite file stem / PostgreSQL schema of the service's database. (Default: `orders`) */
  readonly databaseName?: string;
}

/**
 * The orders context and the order saga (a process manager: saga.ts decides, handlers.ts applies).
 * Subscriptions: `orders.replicas` (customers and prices), `orders.saga` (stock, payment and shipment
 * answers), `orders.checkout` (carts becoming orders) and `orders.payment-timeout` — a delayed
 * subscription on `order.placed` that fires once the payment timeout has passed, so the deadline is
 * as durable as the log and needs no timer table.
 */
export function createOrdersService(options: OrdersServiceOptions = {}): ServiceDefinition {
  return {
    name: 'orders',
    async start(ctx) {
      const settings = readOrdersSettings(ctx.env);
      return startServiceRuntime<OrdersDatabase>(ctx, { name: 'orders', databaseName: options.databaseName, migrations: ORDERS_MIGRATIONS }, async ({ db, outbox, subscribe }) => {
        const deps: HandlerDeps = { outbox, logger: ctx.logger };
        registerOrdersRoutes(ctx.http, { db, outbox });
        await subscribe({ name: 'orders.replicas', types: REPLICA_TYPES, concurrency: 4 }, handleOnce(db, (event, trx) => onReplicaEvent(deps, trx, event)));
        await subscribe({ name: 'orders.saga', types: SAGA_TYPES, concurrency: 8 }, handleOnce(db, (event, trx) => onSagaEvent(deps, trx, event)));
        await subscribe(
          // The customers replica may lag behind a checkout: retry for a while before dead-lettering.
          { name: 'orders.checkout', types: ['cart.checked_out'], concurrency: 4, retry: { maxAttempts: 30, maxDelayMs: 10_000 } },
          handleOnce(db, (event, trx) => onCartCheckedOut(deps, trx, event)),
        );
        await subscribe(
          { name: 'orders.payment-timeout', types: ['order.placed'], concurrency: 8, delayMs: settings.paymentTimeoutMs },
          handleOnce(db, (event, trx) => onPaymentDeadline(deps, trx, event, settings.paymentTimeoutMs)),
        );
        ctx.logger.info({ paymentTimeoutMs: settings.paymentTimeoutMs }, 'orders saga running');
      });
    },
  };
}

export const ordersService = createOrdersService();
