/**
 * The catalog (`catalog`): products, stock on hand, reservations for orders, average ratings.
 * Publishes `product.*` and `stock.*`; reacts to `order.placed` / `order.cancelled` and to reviews.
 */
import { busTablesMigration } from '../../bus/index.ts';
import { startServiceRuntime, type Cause } from '../runtime.ts';
import type { ServiceDefinition } from '../service.ts';
import type { CatalogEvent } from './events.ts';
import { catalogReactions, ratingsReads, stockReads } from './handlers.ts';
import { catalogTables } from './migrations/001_catalog.ts';
import { registerCatalogRoutes } from './routes.ts';
import type { CatalogDatabase } from './store.ts';

export const catalogMigrations = { '000_bus': busTablesMigration, '001_catalog': catalogTables };

export interface CatalogServiceOptions {
  /** The database: SQLite file stem or PostgreSQL schema. (Default: 'catalog') */
  readonly databaseName?: string;
}

/** A reaction's event continues the conversation (and trace) of the event it reacts to. */
const inherit = (_published: CatalogEvent, cause: Cause) => ({
  correlationid: cause.correlationid ?? cause.id,
  ...(cause.traceparent === undefined ? {} : { traceparent: cause.traceparent }),
});

export function catalogService(options: CatalogServiceOptions = {}): ServiceDefinition {
  return {
    name: 'catalog',
    /** What its subscriptions read (issue 14). */
    reads: [stockReads, ratingsReads],
    start: (context) =>
      startServiceRuntime<CatalogDatabase, CatalogEvent>(context, { name: 'catalog', databaseName: options.databaseName, migrations: catalogMigrations, inherit }, async (runtime) => {
        registerCatalogRoutes(context.http, { db: runtime.db, dialect: runtime.dialect, write: runtime.write });
        const [stock, ratings] = catalogReactions(runtime.dialect);
        await runtime.react(stock);
        await runtime.react(ratings);
      }),
  };
}

