import type { Kysely, Selectable } from 'kysely';

export type ReviewStatus = 'published' | 'flagged';

export interface ReviewsTable {
  id: string;
  product_id: string;
  user_id: string;
  rating: number;
  title: string | null;
  comment: string;
  status: ReviewStatus;
  /** JSON array of moderation reasons once flagged. */
  flag_reasons: string | null;
  created_at: string;
  flagged_at: string | null;
}

export interface ReviewProductsTable {
  id: string;
  name: string;
  active: number;
}

export interface UserBansTable {
  user_id: string;
  banned: number;
  /** End of a temporary ban. */
  until: string | null;
  reason: string | null;
  updated_at: string;
}

export interface ReviewsDatabase {
  reviews: ReviewsTable;
  review_products: ReviewProductsTable;
  user_bans: UserBansTable;
}

export type ReviewsDb = Kysely<ReviewsDatabase>;
export type ReviewRow = Selectable<ReviewsTable>;

/** A review as the HTTP API shows it. */
export interface Review {
  readonly id: string;
  readonly productId: string;
  readonly userId: string;
  readonly rating: number;
  readonly title?: string;
  readonly comment: string;
  readonly status: ReviewStatus;
  readonly flagReasons?: string[];
  readonly createdAt: string;
}

export function reviewOf(row: ReviewRow): Review {
  return {
    id: row.id,
    productId: row.product_id,
    userId: row.user_id,
    rating: Number(row.rating),
    ...(row.title === null ? {} : { title: row.title }),
    comment: row.comment,
    status: row.status,
    ...(row.flag_reasons === null ? {} : { flagReasons: JSON.parse(row.flag_reasons) as string[] }),
    createdAt: row.created_at,
  };
}

export interface ReviewQuery {
  readonly productId: string;
  /** Flagged reviews too (administrators). (Default: false) */
  readonly includeFlagged?: boolean;
  readonly limit: number;
  readonly after?: string;
}

/** Newest first. */
export async function listReviews(db: ReviewsDb, query: ReviewQuery): Promise<{ reviews: Review[]; next?: string }> {
  let q = db.selectFrom('reviews').selectAll().where('product_id', '=', query.productId).orderBy('id', 'desc').limit(query.limit + 1);
  if (!query.includeFlagged) q = q.where('status', '=', 'published');
  if (query.after !== undefined) q = q.where('id', '<', query.after);
  const rows = await q.execute();
  const reviews = rows.slice(0, query.limit).map(reviewOf);
  return rows.length > query.limit ? { reviews, next: reviews[reviews.length - 1].id } : { reviews };
}

/** Whether the user is banned at `now` (a temporary ban ends by itself). */
export async function isBanned(db: ReviewsDb, userId: string, now = new Date()): Promise<boolean> {
  const ban = await db.selectFrom('user_bans').selectAll().where('user_id', '=', userId).executeTakeFirst();
  if (!ban || Number(ban.banned) !== 1) return false;
  return ban.until === null || Date.parse(ban.until) > now.getTime();
}
