/**
 * A customer's live feed for `GET /v1/me/stream` (the platform's `streamFeed`): the rows of the
 * hub's `stream` table after a position, each sent with its `position` as the SSE id and its kind
 * (`timeline`, `notification`, `read`) as the event name. What is sent is what was committed; a
 * commit in this process wakes the customer's open streams at once (`Signals`), and a commit
 * elsewhere is seen at the next look (`idleMs`). A ban ends the customer's open streams.
 */
import type { FeedOptions } from '../../platform/sse.ts';
import type { Signals } from './live.ts';
import type { HubDb } from './store.ts';

/** Rows per read while catching up. */
const PAGE = 500;
/** How often an idle stream looks for changes made in another process. */
const IDLE_MS = 1_000;

export interface Feeds {
  /** The feed of `userId`'s stream, starting after their latest change unless the client resumes. */
  of(userId: string): Promise<FeedOptions>;
  /** Ends the open streams of `userId` (banned). */
  end(userId: string): void;
}

export function customerFeeds(db: HubDb, signals: Signals): Feeds {
  const open = new Map<string, Set<AbortController>>();
  return {
    async of(userId) {
      const head = await db.selectFrom('stream').select((eb) => eb.fn.max('position').as('head')).where('user_id', '=', userId).executeTakeFirst();
      const controller = new AbortController();
      const mine = open.get(userId) ?? new Set();
      open.set(userId, mine.add(controller));
      controller.signal.addEventListener('abort', () => mine.delete(controller), { once: true });
      return {
        after: Number(head?.head ?? 0),
        idleMs: IDLE_MS,
        signal: controller.signal,
        wake: (changed) => {
          const unlisten = signals.listen(userId, changed);
          return () => {
            unlisten();
            mine.delete(controller);
            if (mine.size === 0 && open.get(userId) === mine) open.delete(userId);
          };
        },
        read: async (position) => {
          const rows = await db
            .selectFrom('stream')
            .select(['position', 'kind', 'payload'])
            .where('user_id', '=', userId)
            .where('position', '>', position)
            .orderBy('position')
            .limit(PAGE)
            .execute();
          return rows.map((row) => ({ position: Number(row.position), event: row.kind, data: JSON.parse(row.payload) as unknown }));
        },
      };
    },
    end(userId) {
      for (const controller of open.get(userId) ?? []) controller.abort();
    },
  };
}
