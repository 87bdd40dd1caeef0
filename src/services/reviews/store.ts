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

/** The name a reviewer is shown under, from the users context's profile events. */
export interface ReviewersTable {
  user_id: string;
  /** First name and the initial of the last: "Ada L." */
  display_name: string;
  updated_at: string;
}

export interface ReviewsDatabase {
  reviews: ReviewsTable;
  review_products: ReviewProductsTable;
  user_bans: UserBansTable;
  reviewers: ReviewersTable;
}

export type ReviewsDb = Kysely<ReviewsDatabase>;
export type ReviewRow = Selectable<ReviewsTable>;

/**
 * A review as the HTTP API shows it. The public sees the reviewer's display name, never their id
 * (issue 7: customer ids are not public); `userId` is shown to the admin and to the author.
 */
export interface Review {
  readonly id: string;
  readonly productId: string;
  /** The reviewer's display name ("Ada L."), once the users context has told us their name. */
  readonly author?: string;
  readonly userId?: string;
  readonly rating: number;
  readonly title?: string;
  readonly comment: string;
  readonly status: ReviewStatus;
  readonly flagReasons?: string[];
  readonly createdAt: string;
}

/** Who reads a review: the public, or someone who may see the reviewer's id (the admin, the author). */
export type ReviewReader = 'public' | 'trusted';

export function reviewOf(row: ReviewRow & { display_name?: string | null }, reader: ReviewReader): Review {
  return {
    id: row.id,
    productId: row.product_id,
    ...(row.display_name ? { author: row.display_name } : {}),
    ...(reader === 'trusted' ? { userId: row.user_id } : {}),
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
  /** Who reads: only `trusted` readers see reviewer ids. (Default: 'public') */
  readonly reader?: ReviewReader;
}

/** Newest first. */
export async function listReviews(db: ReviewsDb, query: ReviewQuery): Promise<{ reviews: Review[]; next?: string }> {
  let q = db
    .selectFrom('reviews')
    .leftJoin('reviewers', 'reviewers.user_id', 'reviews.user_id')
    .selectAll('reviews')
    .select('reviewers.display_name')
    .where('reviews.product_id', '=', query.productId)
    .orderBy('reviews.id', 'desc')
    .limit(query.limit + 1);
  if (!query.includeFlagged) q = q.where('reviews.status', '=', 'published');
  if (query.after !== undefined) q = q.where('reviews.id', '<', query.after);
  const rows = await q.execute();
  const reviews = rows.slice(0, query.limit).map((row) => reviewOf(row, query.reader ?? 'public'));
  return rows.length > query.limit ? { reviews, next: reviews[reviews.length - 1].id } : { reviews };
}

/** The display name of a reviewer, if known. */
export async function displayNameOf(db: ReviewsDb, userId: string): Promise<string | undefined> {
  const row = await db.selectFrom('reviewers').select('display_name').where('user_id', '=', userId).executeTakeFirst();
  return row?.display_name;
}

/** Whether the user is banned at `now` (a temporary ban ends by itself). */
export async function isBanned(db: ReviewsDb, userId: string, now = new Date()): Promise<boolean> {
  const ban = await db.selectFrom('user_bans').selectAll().where('user_id', '=', userId).executeTakeFirst();
  if (!ban || Number(ban.banned) !== 1) return false;
  return ban.until === null || Date.parse(ban.until) > now.getTime();
}
