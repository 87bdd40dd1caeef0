/**
 * Follows the event log through `GET /v1/events` (admin key), so the simulator sees the saga's
 * outcome of every order with one request per poll instead of one per order.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ShopClient, StoredEvent } from './shop-client.ts';

export interface LogFollower {
  /** Resolves once the poll loop has stopped. */
  stop(): Promise<void>;
  /** Waits until the follower has read the log up to the head as it is now. */
  catchUp(): Promise<void>;
}

export interface FollowOptions {
  readonly types: readonly string[];
  /** Pause between polls that found nothing. (Default: 100 ms) */
  readonly intervalMs?: number;
  readonly onEvent: (event: StoredEvent) => void;
  /** A poll that failed; the follower keeps going. */
  readonly onError?: (error: unknown) => void;
}

/** Starts following at the current head: only events stored from now on are seen. */
export async function followLog(client: ShopClient, options: FollowOptions): Promise<LogFollower> {
  const intervalMs = options.intervalMs ?? 100;
  let after = (await client.events(options.types, 0, 1)).head;
  let stopped = false;
  const waiters: { head: number; resolve: () => void }[] = [];

  const loop = (async () => {
    while (!stopped) {
      let page;
      try {
        page = await client.events(options.types, after);
      } catch (error) {
        options.onError?.(error);
        await sleep(intervalMs * 5);
        continue;
      }
      for (const event of page.events) {
        after = event.sequence;
        options.onEvent(event);
      }
      // A page that is not full saw every match up to `head`, read before the page.
      if (page.next === null) after = Math.max(after, page.head);
      for (const waiter of waiters.splice(0)) {
        if (after >= waiter.head) waiter.resolve();
        else waiters.push(waiter);
      }
      if (page.events.length === 0) await sleep(intervalMs);
    }
    for (const waiter of waiters.splice(0)) waiter.resolve();
  })();

  return {
    async stop() {
      stopped = true;
      await loop;
    },
    async catchUp() {
      const { head } = await client.events(options.types, 0, 1);
      if (after >= head) return;
      await new Promise<void>((resolve) => waiters.push({ head, resolve }));
    },
  };
}
