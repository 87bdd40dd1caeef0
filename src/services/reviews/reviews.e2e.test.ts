import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { DIALECTS, uniqueName } from '../../../test/support/service-databases.ts';
import { startServiceServer, type ServiceServer, type StoredEvent } from '../../../test/support/service-server.ts';
import type { Dialect } from '../../platform/db.ts';
import { reviewsService } from './index.ts';

describe.each(DIALECTS)('reviews service on %s', (dialect: Dialect) => {
  let server: ServiceServer;
  const schemas = [uniqueName('reviews')];
  const productId = uuidv7();
  beforeAll(async () => {
    server = await startServiceServer(dialect, [reviewsService({ databaseName: schemas[0] })], { FLAMINGO_REVIEWS_BANNED_WORDS: 'casino, free money' });
    // The reviews service learns products from the catalog's product.created.
    const product = { productId, sku: `MUG-${productId}`, name: 'Mug', priceCents: 1250, currency: 'EUR', onHand: 5, lowStockThreshold: 0, active: true };
    await server.flamingo.bus.publish({ type: 'product.created', data: product });
    await server.drained('reviews.products');
  });
  afterAll(() => server.stopAndDrop(schemas));

  const customer = async () => {
    const userId = uuidv7();
    return { userId, token: await server.tokens.sign({ userId, email: `${userId}@example.test` }) };
  };
  const review = (token: string | null, body: unknown, id = productId) => server.request('POST', `/v1/products/${id}/reviews`, { key: token, body });
  const ofReview = (reviewId: string) => (events: StoredEvent[]) => events.filter((e) => e.data.reviewId === reviewId);

  it('needs a logged-in customer and a valid review; bad input is 4xx naming the field and writes nothing', async () => {
    const { token } = await customer();
    expect((await review(null, { rating: 5, comment: 'x' })).status).toBe(401);
    expect((await review('forged.token.value', { rating: 5, comment: 'x' })).status).toBe(401);
    const cases: [unknown, string][] = [
      [{ rating: 0, comment: '' }, '/body/rating'],
      [{ rating: 6, comment: '' }, '/body/rating'],
      [{ rating: 4.5, comment: '' }, '/body/rating'],
      [{ rating: 4 }, '/body/comment'],
      [{ rating: 4, comment: 'x'.repeat(5001) }, '/body/comment'],
    ];
    for (const [body, path] of cases) {
      const response = await review(token, body);
      expect(response.status, JSON.stringify(body).slice(0, 60)).toBe(400);
      expect(response.body.detail.map((d: { path: string }) => d.path)).toContain(path);
    }
    expect((await review(token, { rating: 4, comment: '' }, uuidv7())).status).toBe(404);
    expect((await server.request('GET', `/v1/products/${productId}/reviews`)).body.reviews).toEqual([]);
    expect(await server.events('product.reviewed')).toEqual([]);
  });

  it('publishes product.reviewed once per customer and product', async () => {
    const { token, userId } = await customer();
    const posted = await review(token, { rating: 4, title: 'Nice', comment: 'Keeps the coffee warm.' });
    expect(posted).toMatchObject({ status: 201, body: { productId, userId, rating: 4, status: 'published' } });
    expect((await review(token, { rating: 1, comment: 'changed my mind' })).status).toBe(409);
    const [event] = ofReview(posted.body.id)(await server.waitForEvents('product.reviewed', (all) => ofReview(posted.body.id)(all).length > 0));
    expect(event.data).toEqual({ reviewId: posted.body.id, productId, userId, rating: 4, title: 'Nice', comment: 'Keeps the coffee warm.' });
    const listed = await server.request('GET', `/v1/products/${productId}/reviews`, { key: null });
    expect(listed.body.reviews.map((r: { id: string }) => r.id)).toContain(posted.body.id);
  });

  it('flags spam once and hides it', async () => {
    const { token } = await customer();
    const spam = await review(token, { rating: 5, comment: 'Best casino bonus at www.spam.test' });
    expect(spam.status).toBe(201);
    const [flag] = ofReview(spam.body.id)(await server.waitForEvents('review.flagged', (all) => ofReview(spam.body.id)(all).length > 0));
    expect(flag.data).toEqual({ reviewId: spam.body.id, productId, userId: spam.body.userId, reasons: ['link', 'banned_word'], flaggedBy: 'auto' });
    expect(flag.causationid).toBeDefined();
    await server.drained('reviews.moderation');
    await server.flamingo.bus.rewind('reviews.moderation', 'beginning');
    await server.drained('reviews.moderation');
    expect(ofReview(spam.body.id)(await server.events('review.flagged'))).toHaveLength(1);
    const visible = await server.request('GET', `/v1/products/${productId}/reviews`);
    expect(visible.body.reviews.map((r: { id: string }) => r.id)).not.toContain(spam.body.id);
    expect((await server.request('GET', `/v1/products/${productId}/reviews?includeFlagged=true`, { key: null })).status).toBe(401);
    const all = await server.request('GET', `/v1/products/${productId}/reviews?includeFlagged=true`);
    expect(all.body.reviews.find((r: { id: string }) => r.id === spam.body.id)).toMatchObject({ status: 'flagged', flagReasons: ['link', 'banned_word'] });
  });

  it('refuses banned customers until they are unbanned', async () => {
    const { token, userId } = await customer();
    await server.flamingo.bus.publish({ type: 'user.banned', data: { userId, reason: 'spam', bannedBy: 'admin@example.test' } });
    await server.drained('reviews.bans');
    expect(await review(token, { rating: 5, comment: 'hello' })).toMatchObject({ status: 403 });
    await server.flamingo.bus.publish({ type: 'user.unbanned', data: { userId } });
    await server.drained('reviews.bans');
    expect((await review(token, { rating: 5, comment: 'hello' })).status).toBe(201);
  });
});
