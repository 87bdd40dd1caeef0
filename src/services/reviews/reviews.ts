/** Reviews by logged-in customers, the moderation of their text, and the replicas they depend on. */
import { v7 as uuidv7 } from 'uuid';
import type { EventData } from '../../contracts/index.ts';
import { ApiError, forbidden, notFound } from '../../platform/errors.ts';
import { REVIEWS_SOURCE, type ReviewEvent } from './events.ts';
import { moderate } from './moderation.ts';
import { isBanned, type ReviewRow, type ReviewsDb } from './store.ts';

export interface NewReview {
  readonly productId: string;
  readonly userId: string;
  readonly rating: number;
  readonly title?: string;
  readonly comment: string;
}

export interface ReviewChange {
  readonly row: ReviewRow;
  readonly events: ReviewEvent[];
}

export const alreadyReviewed = () =>
  new ApiError(409, 'already_reviewed', 'you have already reviewed this product', [{ path: '/params/id', message: 'one review per customer and product' }]);

/** Publishes `product.reviewed`; refuses banned customers, unknown products and a second review of the same product. */
export async function postReview(trx: ReviewsDb, input: NewReview, now = new Date()): Promise<ReviewChange> {
  if (await isBanned(trx, input.userId, now)) throw forbidden('this account is banned and cannot post reviews');
  const product = await trx.selectFrom('review_products').select('id').where('id', '=', input.productId).executeTakeFirst();
  if (!product) throw notFound(`no product ${input.productId}`);
  const existing = await trx.selectFrom('reviews').select('id').where('product_id', '=', input.productId).where('user_id', '=', input.userId).executeTakeFirst();
  if (existing) throw alreadyReviewed();
  const row: ReviewRow = {
    id: uuidv7(),
    product_id: input.productId,
    user_id: input.userId,
    rating: input.rating,
    title: input.title ?? null,
    comment: input.comment,
    status: 'published',
    flag_reasons: null,
    created_at: now.toISOString(),
    flagged_at: null,
  };
  await trx.insertInto('reviews').values(row).execute();
  const data: EventData<'product.reviewed'> = { reviewId: row.id, productId: row.product_id, userId: row.user_id, rating: row.rating, comment: row.comment };
  if (input.title !== undefined) data.title = input.title;
  return { row, events: [{ type: 'product.reviewed', source: REVIEWS_SOURCE, data }] };
}

/**
 * Moderation of one `product.reviewed` (ours or another producer's): flags spam once with
 * `review.flagged`, hiding our copy of the review.
 */
export async function moderateReview(trx: ReviewsDb, review: Pick<EventData<'product.reviewed'>, 'reviewId' | 'productId' | 'userId' | 'title' | 'comment'>, banned: readonly string[] | undefined, now = new Date().toISOString()): Promise<ReviewEvent[]> {
  const ours = await trx.selectFrom('reviews').select(['status']).where('id', '=', review.reviewId).executeTakeFirst();
  if (ours?.status === 'flagged') return [];
  const previous = await trx
    .selectFrom('reviews')
    .select('comment')
    .where('user_id', '=', review.userId)
    .where('id', '<', review.reviewId)
    .orderBy('id', 'desc')
    .limit(50)
    .execute();
  const reasons = moderate({ title: review.title, comment: review.comment, previousTexts: previous.map((p) => p.comment) }, banned);
  if (reasons.length === 0) return [];
  if (ours) {
    await trx.updateTable('reviews').set({ status: 'flagged', flag_reasons: JSON.stringify(reasons), flagged_at: now }).where('id', '=', review.reviewId).execute();
  }
  return [
    {
      type: 'review.flagged',
      source: REVIEWS_SOURCE,
      data: { reviewId: review.reviewId, productId: review.productId, userId: review.userId, reasons, flaggedBy: 'auto' },
    },
  ];
}

export async function applyProduct(trx: ReviewsDb, product: Pick<EventData<'product.created'>, 'productId' | 'name' | 'active'>): Promise<void> {
  const row = { name: product.name, active: product.active ? 1 : 0 };
  await trx
    .insertInto('review_products')
    .values({ id: product.productId, ...row })
    .onConflict((oc) => oc.column('id').doUpdateSet(row))
    .execute();
}

/**
 * A public display name from a full name: the first word and the initial of the last ("Ada
 * Lovelace" → "Ada L."), so a review shows who wrote it without the customer's id or whole name.
 */
export function displayName(fullName: string): string {
  const words = fullName.trim().split(/\s+/).filter((w) => w !== '');
  if (words.length === 0) return 'A customer';
  if (words.length === 1) return words[0];
  return `${words[0]} ${[...words[words.length - 1]][0].toUpperCase()}.`;
}

/** `user.registered` / `user.updated`: the name the customer's reviews are shown under. */
export async function applyReviewer(trx: ReviewsDb, profile: { userId: string; name: string }, now = new Date().toISOString()): Promise<void> {
  const row = { display_name: displayName(profile.name), updated_at: now };
  await trx
    .insertInto('reviewers')
    .values({ user_id: profile.userId, ...row })
    .onConflict((oc) => oc.column('user_id').doUpdateSet(row))
    .execute();
}

export async function applyBan(trx: ReviewsDb, ban: Pick<EventData<'user.banned'>, 'userId' | 'reason' | 'until'>, now = new Date().toISOString()): Promise<void> {
  const row = { banned: 1, until: ban.until ?? null, reason: ban.reason, updated_at: now };
  await trx
    .insertInto('user_bans')
    .values({ user_id: ban.userId, ...row })
    .onConflict((oc) => oc.column('user_id').doUpdateSet(row))
    .execute();
}

export async function applyUnban(trx: ReviewsDb, unban: Pick<EventData<'user.unbanned'>, 'userId' | 'reason'>, now = new Date().toISOString()): Promise<void> {
  const row = { banned: 0, until: null, reason: unban.reason ?? null, updated_at: now };
  await trx
    .insertInto('user_bans')
    .values({ user_id: unban.userId, ...row })
    .onConflict((oc) => oc.column('user_id').doUpdateSet(row))
    .execute();
}
