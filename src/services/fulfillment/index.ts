/**
 * Fulfillment (`fulfillment`): a shipment per confirmed order, dispatched and delivered as the
 * carrier reports it. Publishes `shipment.*`; reacts to `order.placed`, `order.confirmed`, `order.cancelled`.
 */
import { busTablesMigration } from '../../bus/index.ts';
import { startServiceRuntime, type Cause } from '../runtime.ts';
import type { ServiceDefinition } from '../service.ts';
import type { FulfillmentEvent } from './events.ts';
import { fulfillmentReactions, shipmentsReads } from './handlers.ts';
import { fulfillmentTables } from './migrations/001_fulfillment.ts';
import { registerFulfillmentRoutes } from './routes.ts';
import type { FulfillmentDatabase } from './store.ts';

export const fulfillmentMigrations = { '000_bus': busTablesMigration, '001_fulfillment': fulfillmentTables };

export interface FulfillmentServiceOptions {
  /** The database: SQLite file stem or PostgreSQL schema. (Default: 'fulfillment') */
  readonly databaseName?: string;
}

/** Shipment events continue the order's conversation. */
const correlate = (event: FulfillmentEvent): FulfillmentEvent => ({ correlationid: event.data.orderId, ...event });

/** A reaction's event continues the conversation (else the order's) and the trace of the event it reacts to. */
const inherit = (published: FulfillmentEvent, cause: Cause) => ({
  correlationid: cause.correlationid ?? published.data.orderId,
  ...(cause.traceparent === undefined ? {} : { traceparent: cause.traceparent }),
});

export function fulfillmentService(options: FulfillmentServiceOptions = {}): ServiceDefinition {
  return {
    name: 'fulfillment',
    /** What its subscriptions read (issue 14). */
    reads: [shipmentsReads],
    start: (context) =>
      startServiceRuntime<FulfillmentDatabase, FulfillmentEvent>(
        context,
        { name: 'fulfillment', databaseName: options.databaseName, migrations: fulfillmentMigrations, correlate, inherit },
        async (runtime) => {
          registerFulfillmentRoutes(context.http, { db: runtime.db, dialect: runtime.dialect, write: runtime.write });
          const [orders] = fulfillmentReactions();
          await runtime.react(orders);
        },
      ),
  };
}

