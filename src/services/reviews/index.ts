/**
 * Reviews (`reviews`): customers rate products; moderation flags spam. Publishes `product.reviewed`
 * and `review.flagged`; keeps replicas of products and bans.
 */
import { busTablesMigration } from '../../bus/bus-tables.ts';
import { handleOnce } from '../../bus/handle-once.ts';
import { createOutbox } from '../../bus/outbox.ts';
import type { DeliveredEvent, PublishInput, Subscription } from '../../bus/types.ts';
import { migrate, openDatabase } from '../../platform/db.ts';
import type { ServiceDefinition } from '../service.ts';
import type { ReviewEvent } from './events.ts';
import { reviewsReactions, type ReviewsReaction } from './handlers.ts';
import { reviewsTables } from './migrations/001_reviews.ts';
import { registerReviewRoutes } from './routes.ts';
import type { ReviewsDatabase, ReviewsDb } from './store.ts';

export const reviewsMigrations = { '000_bus': busTablesMigration, '001_reviews': reviewsTables };

export interface ReviewsServiceOptions {
  /** The database: SQLite file stem or PostgreSQL schema. (Default: 'reviews') */
  readonly databaseName?: string;
}

/** `FLAMINGO_REVIEWS_BANNED_WORDS`: comma-separated words and phrases moderation flags (replaces the default list). */
export function bannedWordsOf(env: Readonly<Record<string, string | undefined>>): string[] | undefined {
  const value = env.FLAMINGO_REVIEWS_BANNED_WORDS;
  if (value === undefined || value.trim() === '') return undefined;
  return value
    .split(',')
    .map((word) => word.trim())
    .filter((word) => word !== '');
}

export function reviewsService(options: ReviewsServiceOptions = {}): ServiceDefinition {
  return {
    name: 'reviews',
    async start(context) {
      const database = await openDatabase<ReviewsDatabase>(options.databaseName ?? 'reviews', context.database);
      const subscriptions: Subscription[] = [];
      const outbox = createOutbox({
        db: database.db,
        bus: context.bus,
        dialect: database.dialect,
        databaseUrl: context.database.databaseUrl,
        onError: (error, { eventIds, permanent }) => context.logger.error({ err: error, eventIds, permanent }, 'reviews outbox relay failed'),
      });
      const add = (trx: ReviewsDb, event: ReviewEvent) => outbox.add(trx, event as PublishInput);
      const stop = async () => {
        for (const subscription of subscriptions) await subscription.close();
        await outbox.stop();
        await database.close();
      };
      try {
        await migrate(database.db, reviewsMigrations);
        const write = <T extends { events: ReviewEvent[] }>(work: (trx: ReviewsDb) => Promise<T>) =>
          database.db.transaction().execute(async (trx) => {
            const result = await work(trx);
            for (const event of result.events) await add(trx, event);
            return result;
          });
        registerReviewRoutes(context.http, { db: database.db, write, requireAdmin: context.requireAdmin, tokens: context.tokens });
        await outbox.start();
        const subscribe = async <T extends DeliveredEvent['type']>(reaction: ReviewsReaction<T>) => {
          const handler = handleOnce<ReviewsDatabase, T>(database.db, async (event, trx) => {
            for (const published of await reaction.react(trx, event)) {
              await add(trx, { ...published, causationid: event.id, correlationid: event.correlationid ?? event.id });
            }
          });
          subscriptions.push(await context.bus.subscribe({ name: reaction.name, types: reaction.types, concurrency: reaction.concurrency }, handler));
        };
        const [products, bans, moderation] = reviewsReactions(bannedWordsOf(context.env));
        await subscribe(products);
        await subscribe(bans);
        await subscribe(moderation);
      } catch (error) {
        await stop();
        throw error;
      }
      return { stop };
    },
  };
}

/** The reviews service with its default database. */
export const reviews = reviewsService();
