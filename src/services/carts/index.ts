/**
 * The webshop (`carts`): carts, their items and the checkout that turns a cart into an order id.
 * Publishes `cart.*`; keeps a replica of the catalog's products to price carts.
 */
import { busTablesMigration } from '../../bus/bus-tables.ts';
import { handleOnce } from '../../bus/handle-once.ts';
import { createOutbox } from '../../bus/outbox.ts';
import type { DeliveredEvent, PublishInput, Subscription } from '../../bus/types.ts';
import { migrate, openDatabase } from '../../platform/db.ts';
import type { ServiceDefinition } from '../service.ts';
import type { CartEvent } from './events.ts';
import { cartsReactions, type CartsReaction } from './handlers.ts';
import { cartsTables } from './migrations/001_carts.ts';
import { registerCartRoutes } from './routes.ts';
import type { CartsDatabase, CartsDb } from './store.ts';

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
    async start(context) {
      const database = await openDatabase<CartsDatabase>(options.databaseName ?? 'carts', context.database);
      const subscriptions: Subscription[] = [];
      const outbox = createOutbox({
        db: database.db,
        bus: context.bus,
        dialect: database.dialect,
        databaseUrl: context.database.databaseUrl,
        onError: (error, { eventIds, permanent }) => context.logger.error({ err: error, eventIds, permanent }, 'carts outbox relay failed'),
      });
      const add = (trx: CartsDb, event: CartEvent) => outbox.add(trx, inConversation(event) as PublishInput);
      const stop = async () => {
        for (const subscription of subscriptions) await subscription.close();
        await outbox.stop();
        await database.close();
      };
      try {
        await migrate(database.db, cartsMigrations);
        const write = <T extends { events: CartEvent[] }>(work: (trx: CartsDb) => Promise<T>) =>
          database.db.transaction().execute(async (trx) => {
            const result = await work(trx);
            for (const event of result.events) await add(trx, event);
            return result;
          });
        registerCartRoutes(context.http, { db: database.db, dialect: database.dialect, write, tokens: context.tokens, requireAdmin: context.requireAdmin });
        await outbox.start();
        const subscribe = async <T extends DeliveredEvent['type']>(reaction: CartsReaction<T>) => {
          const handler = handleOnce<CartsDatabase, T>(database.db, async (event, trx) => {
            for (const published of await reaction.react(trx, event)) await add(trx, { ...published, causationid: event.id });
          });
          subscriptions.push(await context.bus.subscribe({ name: reaction.name, types: reaction.types, concurrency: reaction.concurrency }, handler));
        };
        const [products] = cartsReactions();
        await subscribe(products);
      } catch (error) {
        await stop();
        throw error;
      }
      return { stop };
    },
  };
}

/** The webshop service with its default database. */
export const carts = cartsService();
