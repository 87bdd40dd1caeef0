/**
 * The webshop (`carts`): carts, their items and the checkout that turns a cart into an order id.
 * Publishes `cart.*`; keeps a replica of the catalog's products to price carts.
 */
import { busTablesMigration } from '../../bus/index.ts';
import { startServiceRuntime } from '../runtime.ts';
import type { ServiceDefinition } from '../service.ts';
import type { CartEvent } from './events.ts';
import { cartsReactions, productsReads } from './handlers.ts';
import { cartsTables } from './migrations/001_carts.ts';
import { registerCartRoutes } from './routes.ts';
import type { CartsDatabase } from './store.ts';

export const cartsMigrations = { '000_bus': busTablesMigration, '001_carts': cartsTables };

export interface CartsServiceOptions {
  /** The database: SQLite file stem or PostgreSQL schema. (Default: 'carts') */
  readonly databaseName?: string;
}

/** A cart's events share the cart as their conversation: the checkout's order saga continues it. */
const inConversation = (event: CartEvent): CartEvent => ({ ...event, correlationid: event.data.cartId ?? undefined });

export function cartsService(options: CartsServiceOptions = {}): ServiceDefinition {
  return {
    name: 'carts',
    /** What its subscriptions read (issue 14). */
    reads: [productsReads],
    start: (context) =>
      startServiceRuntime<CartsDatabase, CartEvent>(context, { name: 'carts', databaseName: options.databaseName, migrations: cartsMigrations, correlate: inConversation }, async (runtime) => {
        registerCartRoutes(context.http, { db: runtime.db, dialect: runtime.dialect, write: runtime.write });
        const [products] = cartsReactions();
        await runtime.react(products);
      }),
  };
}

