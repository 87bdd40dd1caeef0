/**
 * What the reviews service reacts to: products (so reviews name real ones), bans (so banned
 * customers cannot review), profiles (the display name reviews are shown under) and reviews
 * themselves (moderation flags spam).
 */
import { declareReads, type ReadDeclaration, type ReadEvent, type ReadFields, type ReadsOf } from '../../contracts/index.ts';
import type { ReviewEvent } from './events.ts';
import { applyBan, applyProduct, applyReviewer, applyUnban, moderateReview } from './reviews.ts';
import type { ReviewsDb } from './store.ts';

export interface ReviewsReaction<R extends ReadFields> {
  /** The subscription, `reviews.<purpose>`. */
  readonly name: string;
  /** What it reads (issue 14): its types, and the only fields of `data` its handler sees. */
  readonly reads: ReadDeclaration<R>;
  readonly concurrency: number;
  react(trx: ReviewsDb, event: ReadEvent<R>): Promise<ReviewEvent[]>;
}

/** What `reviews.products` reads: which products exist and may be reviewed. */
export const productsReads = declareReads('reviews.products', { 'product.created': ['productId', 'name', 'active'], 'product.updated': ['productId', 'name', 'active'] });
/** What `reviews.bans` reads. */
export const bansReads = declareReads('reviews.bans', { 'user.banned': ['userId', 'reason', 'until'], 'user.unbanned': ['userId', 'reason'] });
/** What `reviews.reviewers` reads: the name reviews are shown under. */
export const reviewersReads = declareReads('reviews.reviewers', { 'user.registered': ['userId', 'name'], 'user.updated': ['userId', 'name'] });
/** What `reviews.moderation` reads. */
export const moderationReads = declareReads('reviews.moderation', { 'product.reviewed': ['reviewId', 'productId', 'userId', 'title', 'comment'] });

/** @param bannedWords moderation's banned words (Default: `DEFAULT_BANNED_WORDS`) */
export function reviewsReactions(bannedWords?: readonly string[]) {
  const products: ReviewsReaction<ReadsOf<typeof productsReads>> = {
    name: 'reviews.products',
    reads: productsReads,
    concurrency: 4,
    async react(trx, event) {
      await applyProduct(trx, event.data);
      return [];
    },
  };
  const bans: ReviewsReaction<ReadsOf<typeof bansReads>> = {
    name: 'reviews.bans',
    reads: bansReads,
    concurrency: 4,
    async react(trx, event) {
      if (event.type === 'user.banned') await applyBan(trx, event.data);
      else await applyUnban(trx, event.data);
      return [];
    },
  };
  const reviewers: ReviewsReaction<ReadsOf<typeof reviewersReads>> = {
    name: 'reviews.reviewers',
    reads: reviewersReads,
    concurrency: 4,
    async react(trx, event) {
      await applyReviewer(trx, event.data);
      return [];
    },
  };
  const moderation: ReviewsReaction<ReadsOf<typeof moderationReads>> = {
    name: 'reviews.moderation',
    reads: moderationReads,
    concurrency: 4,
    react: (trx, event) => moderateReview(trx, event.data, bannedWords),
  };
  return [products, bans, moderation, reviewers] as const;
}
