import { Type } from '@sinclair/typebox';
import { defineEvent } from '../define.ts';
import { Id } from './fields.ts';

const ReviewId = Id('The review (UUIDv7).');
const ProductId = Id('The product reviewed.');

export const productReviewed = defineEvent({
  type: 'product.reviewed',
  version: 1,
  producer: 'reviews',
  kind: 'domain',
  key: ['productId'],
  subject: 'product',
  urgency: 'background',
  description: 'A customer rated a product, for ratings and moderation (seed 002 ProductReviewed).',
  schema: Type.Object({
    reviewId: ReviewId,
    productId: ProductId,
    userId: Id('The reviewer.'),
    rating: Type.Integer({ minimum: 1, maximum: 5 }),
    title: Type.Optional(Type.String({ maxLength: 200, description: 'Free text (personal data).' })),
    comment: Type.String({ maxLength: 5000, description: 'Free text (personal data); may be empty.' }),
  }),
  personalData: ['/title', '/comment'],
  aliases: ['ProductReviewed'],
});

export const reviewFlagged = defineEvent({
  type: 'review.flagged',
  version: 1,
  producer: 'reviews',
  kind: 'domain',
  key: ['productId'],
  subject: 'product',
  urgency: 'background',
  description: 'Moderation flagged a review (spam, abuse…): hidden until an administrator looks at it in the reviews service.',
  schema: Type.Object({
    reviewId: ReviewId,
    productId: ProductId,
    userId: Type.Optional(Id('The reviewer.')),
    reasons: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { minItems: 1, description: 'e.g. `spam`, `profanity`, `link`.' }),
    flaggedBy: Type.Optional(Type.String({ minLength: 1, maxLength: 254, description: 'Who flagged: `auto` or an administrator (personal data).' })),
  }),
  personalData: ['/flaggedBy'],
  aliases: [],
});

export const reviewsEvents = [productReviewed, reviewFlagged] as const;
