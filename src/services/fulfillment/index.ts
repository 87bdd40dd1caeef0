/**
 * Fulfillment (`fulfillment`): a shipment per confirmed order, dispatched and delivered as the
 * carrier reports it. Publishes `shipment.*`; reacts to `order.placed`, `order.confirmed`, `order.cancelled`.
 */
import { busTablesMigration } from '../../bus/bus-tables.ts';
import { handleOnce, markHandled } from '../../bus/handle-once.ts';
import { createOutbox } from '../../bus/outbox.ts';
import type { BatchHandler, DeliveredEvent, PublishInput, Subscription } from '../../bus/types.ts';
import { migrate, openDatabase } from '../../platform/db.ts';
import type { ServiceDefinition } from '../service.ts';
import type { FulfillmentEvent } from './events.ts';
import { fulfillmentReactions, type FulfillmentReaction } from './handlers.ts';
import { fulfillmentTables } from './migrations/001_fulfillment.ts';
import { registerFulfillmentRoutes } from './routes.ts';
import type { FulfillmentDatabase, FulfillmentDb } from './store.ts';

export const fulfillmentMigrations = { '000_bus': busTablesMigration, '001_fulfillment': fulfillmentTables };

export interface FulfillmentServiceOptions {
  /** The database: SQLite file stem or PostgreSQL schema. (Default: 'fulfillment') */
  readonly databaseName?: string;
}

export function fulfillmentService(options: FulfillmentServiceOptions = {}): ServiceDefinition {
  return {
    name: 'fulfillment',
    async start(context) {
      const database = await openDatabase<FulfillmentDatabase>(options.databaseName ?? 'fulfillment', context.database);
      const subscriptions: Subscription[] = [];
      const outbox = createOutbox({
        db: database.db,
        bus: context.bus,
        dialect: database.dialect,
        databaseUrl: context.database.databaseUrl,
        onError: (error, { eventIds, permanent }) => context.logger.error({ err: error, eventIds, permanent }, 'fulfillment outbox relay failed'),
      });
      // Shipment events continue the order's conversation.
      const add = (trx: FulfillmentDb, event: FulfillmentEvent) => outbox.add(trx, { correlationid: event.data.orderId, ...event } as PublishInput);
      const stop = async () => {
        for (const subscription of subscriptions) await subscription.close();
        await outbox.stop();
        await database.close();
      };
      try {
        await migrate(database.db, fulfillmentMigrations);
        const write = <T extends { events: FulfillmentEvent[] }>(work: (trx: FulfillmentDb) => Promise<T>) =>
          database.db.transaction().execute(async (trx) => {
            const result = await work(trx);
            for (const event of result.events) await add(trx, event);
            return result;
          });
        registerFulfillmentRoutes(context.http, { db: database.db, dialect: database.dialect, write, requireAdmin: context.requireAdmin, tokens: context.tokens });
        await outbox.start();
        const react = async <T extends DeliveredEvent['type']>(reaction: FulfillmentReaction<T>, trx: FulfillmentDb, event: DeliveredEvent<T>) => {
          for (const published of await reaction.react(trx, event)) {
            await add(trx, {
              ...published,
              causationid: event.id,
              correlationid: event.correlationid ?? published.data.orderId,
              ...(event.traceparent === undefined ? {} : { traceparent: event.traceparent }),
            });
          }
        };
        const subscribe = async <T extends DeliveredEvent['type']>(reaction: FulfillmentReaction<T>) => {
          const options = { name: reaction.name, types: reaction.types, concurrency: reaction.concurrency };
          if ((reaction.maxBatchSize ?? 1) <= 1) {
            subscriptions.push(await context.bus.subscribe(options, handleOnce<FulfillmentDatabase, T>(database.db, (event, trx) => react(reaction, trx, event))));
            return;
          }
          const batch: BatchHandler<T> = async (events, { subscription }) => {
            const handle = (trx: FulfillmentDb, event: DeliveredEvent<T>) => markHandled(trx, subscription, event.id).then((first) => (first ? react(reaction, trx, event) : undefined));
            try {
              await database.db.transaction().execute(async (trx) => {
                for (const event of events) await handle(trx, event);
              });
            } catch (error) {
              // One event that cannot be handled must not hold back the others: each on its own.
              context.logger.warn({ err: error, subscription, events: events.length }, 'batch failed; handling its events one by one');
              for (const event of events) await database.db.transaction().execute((trx) => handle(trx, event));
            }
          };
          subscriptions.push(await context.bus.subscribeBatch({ ...options, maxBatchSize: reaction.maxBatchSize }, batch));
        };
        const [orders] = fulfillmentReactions();
        await subscribe(orders);
      } catch (error) {
        await stop();
        throw error;
      }
      return { stop };
    },
  };
}

/** The fulfillment service with its default database. */
export const fulfillment = fulfillmentService();
