/**
 * Revoked customers (issue 7 item 3): a banned customer's session tokens are refused by every
 * customer route of every process within 1 s. The list lives in the platform database, shared by
 * all processes on PostgreSQL; the app feeds it from `user.banned` / `user.unbanned` (both keyed by
 * the user, so they arrive in order), and the customer guard reads it through a short cache.
 */
import { sql, type Kysely } from 'kysely';
import type { PlatformDatabase } from './platform-database.ts';

/** A ban (`revoked: true`) or its lifting, as one event of the log tells it. */
export interface RevocationChange {
  readonly userId: string;
  readonly revoked: boolean;
  /** End of a temporary ban (RFC 3339). (Default: none, permanent) */
  readonly until?: string;
  readonly reason?: string;
  /** The event's log position: a change older than the one recorded is ignored (a replay or rewind). */
  readonly sequence: number;
}

export interface RevocationStore {
  /** Records the change unless a later one about the customer is recorded; true when it was applied. */
  apply(change: RevocationChange): Promise<boolean>;
  /** Whether the customer's tokens are refused now; answered from a cache at most `cacheMs` old. */
  isRevoked(userId: string): Promise<boolean>;
}

export interface RevocationStoreOptions {
  /**
   * How long an answer is reused without asking the database: what a ban recorded by another process
   * may take to be seen here, on top of the log's delivery. A primary-key read per customer and
   * period is cheap; the bound is 1 s in all. (Default: 100 ms)
   */
  readonly cacheMs?: number;
}

interface Cached {
  readonly revoked: boolean;
  /** Until when `revoked` holds, ms since the epoch: the cache time, or a temporary ban's end. */
  readonly until: number;
}

const MAX_CACHED = 10_000;

/** The revocation list in the platform database (`platform-database.ts`). */
export function revocationStore(db: Kysely<PlatformDatabase>, options: RevocationStoreOptions = {}): RevocationStore {
  const cacheMs = options.cacheMs ?? 100;
  const cache = new Map<string, Cached>();

  return {
    async apply(change) {
      const row = {
        user_id: change.userId,
        revoked: change.revoked ? 1 : 0,
        until: change.revoked ? (change.until ?? null) : null,
        reason: change.reason ?? null,
        sequence: change.sequence,
        updated_at: new Date().toISOString(),
      };
      const { user_id: _key, ...update } = row;
      const result = await db
        .insertInto('customer_revocations')
        .values(row)
        .onConflict((oc) => oc.column('user_id').doUpdateSet(update).where(sql`customer_revocations.sequence`, '<', change.sequence))
        .executeTakeFirst();
      cache.delete(change.userId);
      return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
    },
    async isRevoked(userId) {
      const now = Date.now();
      const hit = cache.get(userId);
      if (hit && hit.until > now) return hit.revoked;
      const row = await db.selectFrom('customer_revocations').select(['revoked', 'until']).where('user_id', '=', userId).executeTakeFirst();
      const ends = row?.until ? Date.parse(row.until) : Number.POSITIVE_INFINITY;
      const revoked = Number(row?.revoked ?? 0) === 1 && ends > now;
      if (cache.size >= MAX_CACHED) cache.clear();
      cache.set(userId, { revoked, until: Math.min(now + cacheMs, revoked ? ends : Number.POSITIVE_INFINITY) });
      return revoked;
    },
  };
}
