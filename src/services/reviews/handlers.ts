/**
 * What the reviews service reacts to: products (so reviews name real ones), bans (so banned
 * customers cannot review), profiles (the display name reviews are shown under) and reviews
 * themselves (moderation flags spam).
 */
import type { DeliveredEvent } from '../../bus/index.ts';
import type { ReviewEvent } from './events.ts';
import { applyBan, applyProduct, applyReviewer, applyUnban, moderateReview } from './reviews.ts';
import type { ReviewsDb } from './store.ts';

export interface ReviewsReaction<T extends DeliveredEvent['type']> {
  /** The subscription, `reviews.<purpose>`. */
  readonly name: string;
  readonly types: readonly T[];
  readonly concurrency: number;
  react(trx: ReviewsDb, event: DeliveredEvent<T>): Promise<ReviewEvent[]>;
}

/** @param bannedWords moderation's banned words (Default: `DEFAULT_BANNED_WORDS`) */
export function reviewsReactions(bannedWords?: readonly string[]) {
  const products: ReviewsReaction<'product.created' | 'product.updated'> = {
    name: 'reviews.products',
    types: ['product.created', 'product.updated'],
    concurrency: 4,
    async react(trx, event) {
      await applyProduct(trx, event.data);
      return [];
    },
  };
  const bans: ReviewsReaction<'user.banned' | 'user.unbanned'> = {
    name: 'reviews.bans',
    types: ['user.banned', 'user.unbanned'],
    concurrency: 4,
    async react(trx, event) {
      if (event.type === 'user.banned') await applyBan(trx, event.data);
      else await applyUnban(trx, event.data);
      return [];
    },
  };
  const reviewers: ReviewsReaction<'user.registered' | 'user.updated'> = {
    name: 'reviews.reviewers',
    types: ['user.registered', 'user.updated'],
    concurrency: 4,
    async react(trx, event) {
      await applyReviewer(trx, event.data);
      return [];
    },
  };
  const moderation: ReviewsReaction<'product.reviewed'> = {
    name: 'reviews.moderation',
    types: ['product.reviewed'],
    concurrency: 4,
    react: (trx, event) => moderateReview(trx, event.data, bannedWords),
  };
  return [products, bans, moderation, reviewers] as const;
}
