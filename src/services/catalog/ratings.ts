/**
 * Average ratings from the reviews service's events: `product.reviewed` adds a rating to the product's
 * totals, `review.flagged` takes it out again. Each review is counted at most once, whichever of the
 * two events arrives first.
 */
import type { EventData } from '../../contracts/index.ts';
import type { CatalogDb } from './store.ts';

async function addToTotals(trx: CatalogDb, productId: string, rating: number, count: 1 | -1): Promise<void> {
  await trx
    .updateTable('products')
    .set((eb) => ({ rating_sum: eb('rating_sum', '+', rating * count), rating_count: eb('rating_count', '+', count) }))
    .where('id', '=', productId)
    .execute();
}

export async function recordReview(trx: CatalogDb, review: Pick<EventData<'product.reviewed'>, 'reviewId' | 'productId' | 'rating'>): Promise<void> {
  const known = await trx.selectFrom('product_ratings').selectAll().where('review_id', '=', review.reviewId).executeTakeFirst();
  if (known) {
    // Flagged before we saw it: keep the rating for the record, out of the totals.
    if (known.rating === null) await trx.updateTable('product_ratings').set({ rating: review.rating }).where('review_id', '=', review.reviewId).execute();
    return;
  }
  await trx.insertInto('product_ratings').values({ review_id: review.reviewId, product_id: review.productId, rating: review.rating, counted: 1, flagged: 0 }).execute();
  await addToTotals(trx, review.productId, review.rating, 1);
}

export async function excludeFlagged(trx: CatalogDb, flag: Pick<EventData<'review.flagged'>, 'reviewId' | 'productId'>): Promise<void> {
  const known = await trx.selectFrom('product_ratings').selectAll().where('review_id', '=', flag.reviewId).executeTakeFirst();
  if (!known) {
    await trx.insertInto('product_ratings').values({ review_id: flag.reviewId, product_id: flag.productId, rating: null, counted: 0, flagged: 1 }).execute();
    return;
  }
  if (Number(known.counted) === 1 && known.rating !== null) await addToTotals(trx, known.product_id, Number(known.rating), -1);
  await trx.updateTable('product_ratings').set({ counted: 0, flagged: 1 }).where('review_id', '=', flag.reviewId).execute();
}
