/**
 * The attempt log (the seed's "results backend"): one row per request sent to a target, with
 * what came back, kept for the retention period.
 */
import type { Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { DeliveryDatabase } from './store.ts';

/**
 * `delivered`: 2xx. `retrying`: a timeout, network error, 5xx or 408 (retried on the schedule).
 * `throttled`: 429 or THROTTLED (the target is paused; the event's attempts are not used up).
 * `failed`: any other reply, or the last attempt; the event is in the target's dead letters.
 */
export type AttemptOutcome = 'delivered' | 'retrying' | 'throttled' | 'failed';

export interface Attempt {
  readonly id: string;
  readonly targetId: string;
  readonly eventId: string;
  readonly eventType: string;
  /** The event's delivery attempt (1 first); throttled requests share the number of the attempt they wait in. */
  readonly attempt: number;
  /** RFC 3339. */
  readonly startedAt: string;
  readonly durationMs: number;
  readonly status: number | null;
  readonly responseHeaders: Readonly<Record<string, string>> | null;
  /** The first 4 KB of the reply's body (UTF-8, cut on a character boundary). */
  readonly responseBody: string | null;
  readonly error: string | null;
  readonly outcome: AttemptOutcome;
}

export interface AttemptQuery {
  readonly eventId?: string;
  readonly outcome?: AttemptOutcome;
  /** RFC 3339 instants, inclusive / exclusive. */
  readonly since?: string;
  readonly until?: string;
  /** Attempts started before this attempt id (newest first paging). */
  readonly before?: string;
  /** (Default: 100) */
  readonly limit?: number;
}

export const BODY_KEPT_BYTES = 4096;

type AttemptRow = DeliveryDatabase['delivery_attempts'];

const attemptOf = (row: AttemptRow): Attempt => ({
  id: row.id,
  targetId: row.target_id,
  eventId: row.event_id,
  eventType: row.event_type,
  attempt: Number(row.attempt),
  startedAt: row.started_at,
  durationMs: Number(row.duration_ms),
  status: row.status === null ? null : Number(row.status),
  responseHeaders: row.response_headers === null ? null : (JSON.parse(row.response_headers) as Record<string, string>),
  responseBody: row.response_body,
  error: row.error,
  outcome: row.outcome as AttemptOutcome,
});

export function attemptLog(db: Kysely<DeliveryDatabase>) {
  type Row = DeliveryDatabase['delivery_attempts'];
  /**
   * Group commit: attempts recorded while a write is under way go together in the next one, so
   * many deliveries in flight share one transaction (one fsync on SQLite). `record` resolves once
   * its attempt is stored.
   */
  const queue: { row: Row; done: () => void; failed: (error: unknown) => void }[] = [];
  let writing: Promise<void> | undefined;
  const flush = async (): Promise<void> => {
    while (queue.length > 0) {
      // SQLite takes at most 32 766 bound values a statement: 500 rows of 12.
      const batch = queue.splice(0, 500);
      try {
        await db.insertInto('delivery_attempts').values(batch.map((b) => b.row)).execute();
        for (const b of batch) b.done();
      } catch (error) {
        for (const b of batch) b.failed(error);
      }
    }
    writing = undefined;
  };
  return {
    record(attempt: Omit<Attempt, 'id'>): Promise<void> {
      const row: Row = {
        id: uuidv7(),
        target_id: attempt.targetId,
        event_id: attempt.eventId,
        event_type: attempt.eventType,
        attempt: attempt.attempt,
        started_at: attempt.startedAt,
        duration_ms: Math.round(attempt.durationMs * 1000) / 1000,
        status: attempt.status,
        response_headers: attempt.responseHeaders === null ? null : JSON.stringify(attempt.responseHeaders),
        response_body: attempt.responseBody,
        error: attempt.error,
        outcome: attempt.outcome,
      };
      return new Promise<void>((done, failed) => {
        queue.push({ row, done, failed });
        writing ??= flush();
      });
    },
    /** Newest first. */
    async list(targetId: string, query: AttemptQuery = {}): Promise<Attempt[]> {
      let select = db.selectFrom('delivery_attempts').selectAll().where('target_id', '=', targetId);
      if (query.eventId !== undefined) select = select.where('event_id', '=', query.eventId);
      if (query.outcome !== undefined) select = select.where('outcome', '=', query.outcome);
      if (query.since !== undefined) select = select.where('started_at', '>=', new Date(query.since).toISOString());
      if (query.until !== undefined) select = select.where('started_at', '<', new Date(query.until).toISOString());
      if (query.before !== undefined) select = select.where('id', '<', query.before);
      const rows = await select.orderBy('id', 'desc').limit(query.limit ?? 100).execute();
      return rows.map((row) => attemptOf(row as AttemptRow));
    },
    /** Deletes attempts started before `before`; resolves to how many. */
    async prune(before: Date): Promise<number> {
      const result = await db.deleteFrom('delivery_attempts').where('started_at', '<', before.toISOString()).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async removeTarget(targetId: string): Promise<void> {
      await db.deleteFrom('delivery_attempts').where('target_id', '=', targetId).execute();
    },
  };
}

export type AttemptLog = ReturnType<typeof attemptLog>;
