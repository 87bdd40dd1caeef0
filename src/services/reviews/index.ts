/**
 * Reviews (`reviews`): customers rate products; moderation flags spam. Publishes `product.reviewed`
 * and `review.flagged`; keeps replicas of products, bans and reviewers' display names.
 */
import { busTablesMigration } from '../../bus/index.ts';
import { readSettings } from '../../platform/settings.ts';
import { startServiceRuntime, type Cause } from '../runtime.ts';
import type { ServiceDefinition } from '../service.ts';
import type { ReviewEvent } from './events.ts';
import { bansReads, moderationReads, productsReads, reviewersReads, reviewsReactions } from './handlers.ts';
import { reviewsTables } from './migrations/001_reviews.ts';
import { reviewersTable } from './migrations/002_reviewers.ts';
import { registerReviewRoutes } from './routes.ts';
import { bannedWordsOf, reviewsSettings } from './settings.ts';
import type { ReviewsDatabase } from './store.ts';

export const reviewsMigrations = { '000_bus': busTablesMigration, '001_reviews': reviewsTables, '002_reviewers': reviewersTable };

export { reviewsSettings };

export interface ReviewsServiceOptions {
  /** The database: SQLite file stem or PostgreSQL schema. (Default: 'reviews') */
  readonly databaseName?: string;
}

/** A reaction's event continues the conversation of the event it reacts to. */
const inherit = (_published: ReviewEvent, cause: Cause) => ({ correlationid: cause.correlationid ?? cause.id });

export function reviewsService(options: ReviewsServiceOptions = {}): ServiceDefinition {
  return {
    name: 'reviews',
    /** What its subscriptions read (issue 14). */
    reads: [productsReads, bansReads, reviewersReads, moderationReads],
    settings: reviewsSettings,
    start: (context) =>
      startServiceRuntime<ReviewsDatabase, ReviewEvent>(context, { name: 'reviews', databaseName: options.databaseName, migrations: reviewsMigrations, inherit }, async (runtime) => {
        registerReviewRoutes(context.http, { db: runtime.db, write: runtime.write });
        const [products, bans, moderation, reviewers] = reviewsReactions(bannedWordsOf(readSettings(reviewsSettings, context.env).FLAMINGO_REVIEWS_BANNED_WORDS));
        await runtime.react(products);
        await runtime.react(bans);
        await runtime.react(moderation);
        await runtime.react(reviewers);
      }),
  };
}
