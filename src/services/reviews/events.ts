/** What the reviews service publishes: reviews (for ratings and moderation) and moderation's flags. */
import type { PublishInput } from '../../bus/index.ts';

export const REVIEWS_SOURCE = '/services/reviews';

export type ReviewEvent = PublishInput<'product.reviewed'> | PublishInput<'review.flagged'>;
