import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../../../test/support/service-databases.ts';
import type { Dialect } from '../../platform/db.ts';
import { reviewsTables } from './migrations/001_reviews.ts';
import { reviewersTable } from './migrations/002_reviewers.ts';
import { applyBan, applyProduct, applyReviewer, applyUnban, displayName, moderateReview, postReview } from './reviews.ts';
import { listReviews, type ReviewsDatabase, type ReviewsDb } from './store.ts';

describe.each(DIALECTS)('reviews on %s', (dialect: Dialect) => {
  let test: TestDatabase<ReviewsDatabase>;
  let db: ReviewsDb;
  const productId = uuidv7();
  beforeAll(async () => {
    test = await openTestDatabase<ReviewsDatabase>(dialect, 'reviews', { '001_reviews': reviewsTables, '002_reviewers': reviewersTable });
    db = test.database.db;
    await applyProduct(db, { productId, name: 'Mug', active: true });
  });
  afterAll(() => test.cleanup());

  const tx = <T>(fn: (trx: ReviewsDb) => Promise<T>) => db.transaction().execute(fn);

  it('publishes a review once per customer and product', async () => {
    const userId = uuidv7();
    const { events } = await tx((trx) => postReview(trx, { productId, userId, rating: 4, comment: 'Nice mug.' }));
    expect(events).toEqual([expect.objectContaining({ type: 'product.reviewed', data: expect.objectContaining({ productId, userId, rating: 4, comment: 'Nice mug.' }) })]);
    await expect(tx((trx) => postReview(trx, { productId, userId, rating: 5, comment: 'again' }))).rejects.toMatchObject({ status: 409 });
    await expect(tx((trx) => postReview(trx, { productId: uuidv7(), userId, rating: 5, comment: '' }))).rejects.toMatchObject({ status: 404 });
  });

  it('refuses banned customers until they are unbanned or the ban ends', async () => {
    const userId = uuidv7();
    await applyBan(db, { userId, reason: 'spam' });
    await expect(tx((trx) => postReview(trx, { productId, userId, rating: 1, comment: 'x' }))).rejects.toMatchObject({ status: 403 });
    await applyUnban(db, { userId });
    await expect(tx((trx) => postReview(trx, { productId, userId, rating: 1, comment: 'x' }))).resolves.toBeDefined();
    const temporary = uuidv7();
    await applyBan(db, { userId: temporary, reason: 'spam', until: new Date(Date.now() - 1000).toISOString() });
    await expect(tx((trx) => postReview(trx, { productId, userId: temporary, rating: 1, comment: 'x' }))).resolves.toBeDefined();
  });

  it('flags spam once and hides it from the product page', async () => {
    const userId = uuidv7();
    const { events } = await tx((trx) => postReview(trx, { productId, userId, rating: 5, comment: 'cheap pills at www.spam.test' }));
    const reviewed = events[0].data as Parameters<typeof moderateReview>[1];
    const flagged = await tx((trx) => moderateReview(trx, reviewed, undefined));
    expect(flagged).toEqual([expect.objectContaining({ type: 'review.flagged', data: expect.objectContaining({ reviewId: reviewed.reviewId, reasons: ['link'], flaggedBy: 'auto' }) })]);
    expect(await tx((trx) => moderateReview(trx, reviewed, undefined))).toEqual([]);
    const visible = await listReviews(db, { productId, limit: 100 });
    expect(visible.reviews.map((r) => r.id)).not.toContain(reviewed.reviewId);
    const all = await listReviews(db, { productId, limit: 100, includeFlagged: true });
    expect(all.reviews.find((r) => r.id === reviewed.reviewId)).toMatchObject({ status: 'flagged', flagReasons: ['link'] });
  });

  it('shows the public a display name, never the customer id; the admin sees the id (issue 7)', async () => {
    expect([displayName('Ada Lovelace'), displayName(' Grace  Brewster Hopper '), displayName('Cher'), displayName('  ')]).toEqual(['Ada L.', 'Grace H.', 'Cher', 'A customer']);
    const userId = uuidv7();
    await applyReviewer(db, { userId, name: 'Ada Lovelace' });
    const { row } = await tx((trx) => postReview(trx, { productId, userId, rating: 5, comment: 'Lovely.' }));
    const shown = (await listReviews(db, { productId, limit: 100 })).reviews.find((r) => r.id === row.id);
    expect(shown).toMatchObject({ author: 'Ada L.', rating: 5 });
    expect(JSON.stringify(await listReviews(db, { productId, limit: 100 }))).not.toContain(userId);
    const trusted = await listReviews(db, { productId, limit: 100, reader: 'trusted' });
    expect(trusted.reviews.find((r) => r.id === row.id)).toMatchObject({ author: 'Ada L.', userId });
  });

  it('lets an honest review through moderation', async () => {
    const { events } = await tx((trx) => postReview(trx, { productId, userId: uuidv7(), rating: 3, comment: 'Fine, a little small.' }));
    expect(await tx((trx) => moderateReview(trx, events[0].data as Parameters<typeof moderateReview>[1], undefined))).toEqual([]);
  });
});
