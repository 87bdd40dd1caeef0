/**
 * The reviews HTTP API: customers post reviews with their session token; everyone reads published
 * ones, under the reviewer's display name — never their customer id (issue 7).
 */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { signedInCustomer } from '../../platform/auth/index.ts';
import { ApiError, unauthorized } from '../../platform/errors.ts';
import type { ReviewEvent } from './events.ts';
import { alreadyReviewed, postReview } from './reviews.ts';
import { displayNameOf, listReviews, reviewOf, type ReviewsDb } from './store.ts';
import { ErrorAnswer } from '../../platform/http-schemas.ts';

export interface ReviewRouteDeps {
  readonly db: ReviewsDb;
  /** Runs `work` in one transaction and puts the events it returns in the outbox of that transaction. */
  write<T extends { events: ReviewEvent[] }>(work: (trx: ReviewsDb) => Promise<T>): Promise<T>;
}

const ProductParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });
const ReviewSchema = Type.Object(
  {
    id: Type.String(),
    productId: Type.String(),
    author: Type.Optional(Type.String({ description: 'The reviewer’s display name ("Ada L.").' })),
    userId: Type.Optional(Type.String({ description: 'The reviewer: shown to the admin key and to the author only.' })),
    rating: Type.Integer({ minimum: 1, maximum: 5 }),
    title: Type.Optional(Type.String()),
    comment: Type.String(),
    status: Type.Union([Type.Literal('published'), Type.Literal('flagged')], { description: 'Flagged reviews are hidden until an administrator looks at them.' }),
    flagReasons: Type.Optional(Type.Array(Type.String())),
    createdAt: Type.String(),
  },
  { description: 'A customer review.' },
);


const uniqueViolation = (error: unknown) => ['23505', 'SQLITE_CONSTRAINT_UNIQUE'].includes(String((error as { code?: unknown } | null)?.code));

export function registerReviewRoutes(http: FastifyInstance, deps: ReviewRouteDeps): void {
  const app = http.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['reviews'];

  app.post(
    '/v1/products/:id/reviews',
    {
      config: { auth: 'customer' },
      schema: {
        tags,
        summary: 'Review a product as the logged-in customer: publishes product.reviewed; moderation may flag it',
        params: ProductParams,
        body: Type.Object({
          rating: Type.Integer({ minimum: 1, maximum: 5 }),
          title: Type.Optional(Type.String({ maxLength: 200 })),
          comment: Type.String({ maxLength: 5000, description: 'May be empty.' }),
        }),
        response: { 201: ReviewSchema, 401: ErrorAnswer, 403: ErrorAnswer, 404: ErrorAnswer, 409: ErrorAnswer },
      },
    },
    async (request, reply) => {
      const userId = signedInCustomer(request.principal);
      try {
        const { row } = await deps.write((trx) => postReview(trx, { productId: request.params.id, userId, ...request.body }));
        return reply.status(201).send(reviewOf({ ...row, display_name: await displayNameOf(deps.db, userId) }, 'trusted'));
      } catch (error) {
        // Two concurrent reviews by the same customer: the second loses at the unique index.
        if (uniqueViolation(error)) throw alreadyReviewed();
        throw error;
      }
    },
  );

  app.get(
    '/v1/products/:id/reviews',
    {
      // Public, but the admin key (checked before the query is read) adds flagged reviews and reviewer ids.
      config: { auth: 'optional' },
      schema: {
        tags,
        summary: 'Published reviews of a product, newest first, under the reviewers’ display names (flagged ones and reviewer ids too for the admin key)',
        params: ProductParams,
        querystring: Type.Object({
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
          after: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'The `next` of the previous page.' })),
          includeFlagged: Type.Optional(Type.Boolean({ description: 'Admin key required. (Default: false)' })),
        }),
        response: { 200: Type.Object({ reviews: Type.Array(ReviewSchema), next: Type.Optional(Type.String()) }) },
      },
    },
    async (request) => {
      const { limit, after, includeFlagged } = request.query;
      const admin = request.principal.kind === 'admin';
      if (includeFlagged && !admin) {
        if (request.principal.kind === 'anonymous') throw unauthorized('includeFlagged needs the admin key: send Authorization: Bearer <admin key>');
        throw new ApiError(403, 'forbidden', 'includeFlagged needs the admin key');
      }
      const reader = admin ? 'trusted' : 'public';
      return listReviews(deps.db, { productId: request.params.id, limit: limit ?? 50, after, includeFlagged: includeFlagged === true, reader });
    },
  );
}
