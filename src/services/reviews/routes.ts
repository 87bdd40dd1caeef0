/** The reviews HTTP API: customers post reviews with their session token; everyone reads published ones. */
import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ApiError } from '../../platform/errors.ts';
import type { Tokens } from '../../platform/tokens.ts';
import type { ReviewEvent } from './events.ts';
import { alreadyReviewed, postReview } from './reviews.ts';
import { listReviews, reviewOf, type ReviewsDb } from './store.ts';

export interface ReviewRouteDeps {
  readonly db: ReviewsDb;
  /** Runs `work` in one transaction and puts the events it returns in the outbox of that transaction. */
  write<T extends { events: ReviewEvent[] }>(work: (trx: ReviewsDb) => Promise<T>): Promise<T>;
  readonly requireAdmin: preHandlerAsyncHookHandler;
  readonly tokens: Tokens;
}

const ProductParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });
const ReviewSchema = Type.Object(
  {
    id: Type.String(),
    productId: Type.String(),
    userId: Type.String(),
    rating: Type.Integer({ minimum: 1, maximum: 5 }),
    title: Type.Optional(Type.String()),
    comment: Type.String(),
    status: Type.Union([Type.Literal('published'), Type.Literal('flagged')], { description: 'Flagged reviews are hidden until an administrator looks at them.' }),
    flagReasons: Type.Optional(Type.Array(Type.String())),
    createdAt: Type.String(),
  },
  { description: 'A customer review.' },
);
const ErrorSchema = Type.Object({
  error: Type.String(),
  message: Type.String(),
  detail: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
});

const unauthorized = (message: string) => new ApiError(401, 'unauthorized', message, undefined, { 'www-authenticate': 'Bearer realm="flamingo"' });

async function customerOf(request: FastifyRequest, tokens: Tokens): Promise<string> {
  const header = request.headers.authorization;
  if (header === undefined) throw unauthorized('log in first: send Authorization: Bearer <session token> (POST /v1/auth/login)');
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  const claims = match ? await tokens.verify(match[1]) : undefined;
  if (!claims) throw unauthorized('invalid or expired session token: log in again (POST /v1/auth/login)');
  return claims.userId;
}

const uniqueViolation = (error: unknown) => ['23505', 'SQLITE_CONSTRAINT_UNIQUE'].includes(String((error as { code?: unknown } | null)?.code));

export function registerReviewRoutes(http: FastifyInstance, deps: ReviewRouteDeps): void {
  const app = http.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['reviews'];

  app.post(
    '/v1/products/:id/reviews',
    {
      schema: {
        tags,
        summary: 'Review a product as the logged-in customer: publishes product.reviewed; moderation may flag it',
        security: [{ customerToken: [] }],
        params: ProductParams,
        body: Type.Object({
          rating: Type.Integer({ minimum: 1, maximum: 5 }),
          title: Type.Optional(Type.String({ maxLength: 200 })),
          comment: Type.String({ maxLength: 5000, description: 'May be empty.' }),
        }),
        response: { 201: ReviewSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema },
      },
    },
    async (request, reply) => {
      const userId = await customerOf(request, deps.tokens);
      try {
        const { row } = await deps.write((trx) => postReview(trx, { productId: request.params.id, userId, ...request.body }));
        return reply.status(201).send(reviewOf(row));
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
      schema: {
        tags,
        summary: 'Published reviews of a product, newest first (flagged ones too for administrators)',
        params: ProductParams,
        querystring: Type.Object({
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
          after: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'The `next` of the previous page.' })),
          includeFlagged: Type.Optional(Type.Boolean({ description: 'Admin key required. (Default: false)' })),
        }),
        response: { 200: Type.Object({ reviews: Type.Array(ReviewSchema), next: Type.Optional(Type.String()) }) },
      },
    },
    async (request, reply) => {
      const { limit, after, includeFlagged } = request.query;
      if (includeFlagged) await deps.requireAdmin.call(http, request, reply);
      return listReviews(deps.db, { productId: request.params.id, limit: limit ?? 50, after, includeFlagged: includeFlagged === true });
    },
  );
}
