/**
 * The catalog (`catalog`): products, stock on hand, reservations for orders, average ratings.
 * Publishes `product.*` and `stock.*`; reacts to `order.placed` / `order.cancelled` and to reviews.
 */
import { busTablesMigration } from '../../bus/bus-tables.ts';
import { handleOnce, markHandled } from '../../bus/handle-once.ts';
import { createOutbox } from '../../bus/outbox.ts';
import type { BatchHandler, DeliveredEvent, PublishInput, Subscription } from '../../bus/types.ts';
import { migrate, openDatabase } from '../../platform/db.ts';
import type { ServiceDefinition } from '../service.ts';
import type { CatalogEvent } from './events.ts';
import { catalogReactions, type CatalogReaction } from './handlers.ts';
import { catalogTables } from './migrations/001_catalog.ts';
import { registerCatalogRoutes } from './routes.ts';
import type { CatalogDatabase, CatalogDb } from './store.ts';

export const catalogMigrations = { '000_bus': busTablesMigration, '001_catalog': catalogTables };

export interface CatalogServiceOptions {
  /** The database: SQLite file stem or PostgreSQL schema. (Default: 'catalog') */
  readonly databaseName?: string;
}

/** Links an event to the one that caused it. */
function causedBy<E extends CatalogEvent>(published: E, cause: Pick<DeliveredEvent, 'id' | 'correlationid' | 'traceparent'>): E {
  return {
    ...published,
    causationid: cause.id,
    correlationid: cause.correlationid ?? cause.id,
    ...(cause.traceparent === undefined ? {} : { traceparent: cause.traceparent }),
  };
}

export function catalogService(options: CatalogServiceOptions = {}): ServiceDefinition {
  return {
    name: 'catalog',
    async start(context) {
      const database = await openDatabase<CatalogDatabase>(options.databaseName ?? 'catalog', context.database);
      const subscriptions: Subscription[] = [];
      const outbox = createOutbox({
        db: database.db,
        bus: context.bus,
        dialect: database.dialect,
        databaseUrl: context.database.databaseUrl,
        onError: (error, { eventIds, permanent }) => context.logger.error({ err: error, eventIds, permanent }, 'catalog outbox relay failed'),
      });
      // One event of the catalog's own types; the outbox checks it against the catalog again.
      const add = (trx: CatalogDb, event: CatalogEvent) => outbox.add(trx, event as PublishInput);
      try {
        await migrate(database.db, catalogMigrations);
        const write = <T extends { events: CatalogEvent[] }>(work: (trx: CatalogDb) => Promise<T>) =>
          database.db.transaction().execute(async (trx) => {
            const result = await work(trx);
            for (const event of result.events) await add(trx, event);
            return result;
          });
        registerCatalogRoutes(context.http, { db: database.db, dialect: database.dialect, write, requireAdmin: context.requireAdmin });
        await outbox.start();
        const react = async <T extends DeliveredEvent['type']>(reaction: CatalogReaction<T>, trx: CatalogDb, event: DeliveredEvent<T>) => {
          for (const published of await reaction.react(trx, event)) await add(trx, causedBy(published, event));
        };
        const subscribe = async <T extends DeliveredEvent['type']>(reaction: CatalogReaction<T>) => {
          const options = { name: reaction.name, types: reaction.types, concurrency: reaction.concurrency };
          if ((reaction.maxBatchSize ?? 1) <= 1) {
            subscriptions.push(await context.bus.subscribe(options, handleOnce<CatalogDatabase, T>(database.db, (event, trx) => react(reaction, trx, event))));
            return;
          }
          const batch: BatchHandler<T> = async (events, { subscription }) => {
            try {
              await database.db.transaction().execute(async (trx) => {
                await reaction.prepare?.(trx, events);
                for (const event of events) if (await markHandled(trx, subscription, event.id)) await react(reaction, trx, event);
              });
            } catch (error) {
              // One event that cannot be handled must not hold back the others: each on its own, so
              // only the failing one is left for the retry (the others are in the inbox by then).
              context.logger.warn({ err: error, subscription, events: events.length }, 'batch failed; handling its events one by one');
              for (const event of events) {
                await database.db.transaction().execute(async (trx) => {
                  if (await markHandled(trx, subscription, event.id)) await react(reaction, trx, event);
                });
              }
            }
          };
          subscriptions.push(await context.bus.subscribeBatch({ ...options, maxBatchSize: reaction.maxBatchSize }, batch));
        };
        const [stock, ratings] = catalogReactions(database.dialect);
        await subscribe(stock);
        await subscribe(ratings);
      } catch (error) {
        for (const subscription of subscriptions) await subscription.close();
        await outbox.stop();
        await database.close();
        throw error;
      }
      return {
        async stop() {
          for (const subscription of subscriptions) await subscription.close();
          await outbox.stop();
          await database.close();
        },
      };
    },
  };
}

/** The catalog service with its default database. */
export const catalog = catalogService();
