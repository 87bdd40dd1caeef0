import type { CloudEvent } from '../../contracts/index.ts';
import { backoffDelay } from '../backoff.ts';
import { errorText } from '../deliver.ts';
import type { Outcome, ResolvedSubscriptionOptions } from '../types.ts';
import type { ConsumerPool } from './consumer-pool.ts';
import type { LaneItem, UnitResult } from './key-lanes.ts';
import { sliceYield } from './time-slice.ts';

/** An event held by a subscription runner; engines extend it with what they need to store its outcome. */
export interface RunnerItem extends LaneItem {
  /** What the handler gets. */
  readonly event: CloudEvent;
  /**
   * Deliveries started so far: 0 for an event never delivered, the stored count for one being
   * retried (after a restart, or on another process). The runner adds one per hand-out; the
   * handler's `context.attempt` is this count (the highest of a batch).
   */
  attempts: number;
}

/** A delivery failed and the event will be delivered again. */
export interface RetryVerdict {
  /** The error to keep with the retry state (the handler's, or `NO_OUTCOME`). */
  readonly error: string;
  /** Attempts so far, the failed one included: what the next delivery continues from. */
  readonly attempts: number;
  /** When it failed (ms since the epoch). */
  readonly failedAt: number;
  /**
   * When to deliver it again: `failedAt` + the handler's `retryAfter`, else the policy's backoff
   * for the unit's attempt — one instant per unit, so the events of a failed batch come back together.
   */
  readonly at: number;
}

/** A delivery failed for good: `failPermanently`, a rejected event, or the last attempt. */
export interface DeadVerdict {
  readonly error: string;
  /** Attempts made, the failed one included. */
  readonly attempts: number;
  readonly failedAt: number;
}

/**
 * What an engine does with the outcomes the runner settles: its storage. Every hook may return a
 * promise (a store over the network); the runner waits for the hooks of a unit before the
 * handler's slot is free again, and a detaching handler's `close` waits for them too.
 */
export interface SubscriptionStorage<T extends RunnerItem> {
  /**
   * Optional look at each item of a unit before it is delivered. `'deliver'` hands it to the
   * handler; anything else means the engine dealt with it itself (an unreadable message it
   * dead-lettered, a message of another type it acknowledged, one it must give back): `undefined`
   * drops it from the runner, a number runs it again then.
   */
  screen?(item: T): 'deliver' | number | undefined | Promise<number | undefined>;
  /** The items are handed to a handler now (after `screen`, before the handler runs). */
  started?(items: readonly T[]): void;
  /**
   * The handler did not handle the item: a batch held it back behind a failed event of its key
   * (`HeldBack`). Undo what `started` counted and record nothing; resolves to when the runner runs
   * it again (`at`), or undefined when it is no longer this process's. (Default: `at`)
   */
  giveBack?(item: T, at: number): number | undefined | PromiseLike<number | undefined>;
  /** The handler succeeded: the event is done for this subscription (its retry state, if any, goes). */
  ack(item: T): void | Promise<void>;
  /**
   * Keep the retry state (attempts, error, failure times) durable so that a restart or another
   * process continues the count. Returns when to hand the item out again — `verdict.at` — or
   * undefined when the engine gave it back to its log instead (it then redelivers it itself).
   */
  retry(item: T, verdict: RetryVerdict): number | undefined | Promise<number | undefined>;
  /** Record the dead letter (event, error, attempts, first and last failure); the event is then done. */
  dead(item: T, verdict: DeadVerdict): void | Promise<void>;
  /** A unit is over: a moment to read or pull more. */
  unitDone?(): void;
}

/**
 * The error kept for an event that got no outcome: its `Deliver` answered fewer outcomes than events
 * (one that throws, against its contract, retries its events with the thrown error instead).
 */
export const NO_OUTCOME = 'the engine got no outcome for this event';

/** When to try a unit again that found no handler with a free slot (only while handlers detach). */
const AGAIN_WITHOUT_CONSUMER_MS = 10;

const isPromise = (value: unknown): value is PromiseLike<unknown> => typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';

const gaveUp = (attempts: number): string => `gave up after ${attempts} attempts: the last one never finished (process stopped or lost its connection)`;

export interface DeliverUnitOptions<T extends RunnerItem> {
  readonly options: ResolvedSubscriptionOptions;
  readonly storage: SubscriptionStorage<T>;
  readonly pool: ConsumerPool;
  /** `count` events are handed to a handler now / their handler returned (for `inFlight`). */
  readonly started: (count: number) => void;
  readonly finished: (count: number) => void;
}

/**
 * The `run` of a subscription's key-lane dispatcher: delivers one unit to a consumer with a free
 * slot and settles each event's outcome — ack; retry after the handler's `retryAfter` or the
 * policy's backoff; dead letter on `failPermanently`, a rejected event or the last attempt
 * (`retry.maxAttempts`). A handler that throws, or answers fewer outcomes than events, retries the
 * events left without one (`NO_OUTCOME`). An event whose stored attempts already reach
 * `maxAttempts` (its last delivery never finished: the process died) is dead-lettered unread.
 * Each unit first waits for the event loop's turn when the current time slice is used up.
 */
export function deliverUnit<T extends RunnerItem>({ options, storage, pool, started, finished }: DeliverUnitOptions<T>): (items: T[]) => Promise<UnitResult> {
  const { name, retry } = options;
  return async (items) => {
    // Handlers on a synchronous store never give the event loop a turn by themselves (`time-slice.ts`).
    const turn = sliceYield();
    if (turn) await turn;
    const results = new Array<number | undefined>(items.length);
    // Most units deliver every item; `positions` exists only once one is left out.
    let work = items;
    let positions: number[] | undefined;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      let verdict: 'deliver' | number | undefined | PromiseLike<unknown> = storage.screen ? storage.screen(item) : 'deliver';
      if (verdict === 'deliver' && item.attempts >= retry.maxAttempts) {
        verdict = storage.dead(item, { error: gaveUp(item.attempts), attempts: item.attempts, failedAt: Date.now() }) as PromiseLike<unknown> | undefined;
      }
      if (verdict === 'deliver') {
        if (positions) {
          work.push(item);
          positions.push(i);
        }
        continue;
      }
      if (!positions) {
        work = items.slice(0, i);
        positions = work.map((_, k) => k);
      }
      results[i] = isPromise(verdict) ? ((await verdict) as number | undefined) : verdict;
    }
    if (work.length === 0) {
      storage.unitDone?.();
      return results;
    }

    const consumer = pool.pick();
    if (!consumer) {
      const again = Date.now() + AGAIN_WITHOUT_CONSUMER_MS;
      for (let k = 0; k < work.length; k++) results[positions ? positions[k] : k] = again;
      return results;
    }
    pool.take(consumer);
    try {
      let attempt = 0;
      const events = new Array<CloudEvent>(work.length);
      for (let k = 0; k < work.length; k++) {
        const item = work[k];
        if (++item.attempts > attempt) attempt = item.attempts;
        events[k] = item.event;
      }
      storage.started?.(work);
      started(work.length);
      let outcomes: readonly Outcome[];
      let failure = NO_OUTCOME;
      try {
        outcomes = await consumer.deliver(events, { subscription: name, attempt });
      } catch (error) {
        outcomes = [];
        failure = errorText(error);
      } finally {
        finished(work.length);
      }

      // One instant and one backoff for the whole unit, so the events of a failed batch come back together.
      const now = Date.now();
      let backoffAt: number | undefined;
      let pending: PromiseLike<unknown>[] | undefined;
      let held: [position: number, item: T][] | undefined;
      let latestRetry = 0;
      for (let k = 0; k < work.length; k++) {
        const item = work[k];
        const outcome = outcomes[k] ?? { kind: 'retry', error: failure };
        let settled: number | undefined | PromiseLike<unknown>;
        if (outcome.kind === 'held') {
          // Waits for the event of its key that failed: given back to the runner (no storage
          // hook), its delivery not counted; its time is set below, once the unit's retries are known.
          item.attempts -= 1;
          (held ??= []).push([positions ? positions[k] : k, item]);
          continue;
        }
        if (outcome.kind === 'ack') settled = storage.ack(item) as PromiseLike<unknown> | undefined;
        else if (outcome.kind === 'dead' || item.attempts >= retry.maxAttempts) {
          settled = storage.dead(item, { error: outcome.error, attempts: item.attempts, failedAt: now }) as PromiseLike<unknown> | undefined;
        } else {
          const at = outcome.delayMs === undefined ? (backoffAt ??= now + backoffDelay(retry, attempt)) : now + outcome.delayMs;
          if (at > latestRetry) latestRetry = at;
          settled = storage.retry(item, { error: outcome.error, attempts: item.attempts, failedAt: now, at });
        }
        const position = positions ? positions[k] : k;
        if (isPromise(settled)) (pending ??= []).push(settled.then((at) => (results[position] = at as number | undefined)));
        else results[position] = settled;
      }
      // Held events come back with the latest retry of the unit: never before the event they wait for.
      if (held) {
        const at = Math.max(latestRetry, backoffAt ?? now + backoffDelay(retry, attempt));
        for (const [position, item] of held) {
          const again = storage.giveBack ? storage.giveBack(item, at) : at;
          if (isPromise(again)) (pending ??= []).push(again.then((value) => (results[position] = value as number | undefined)));
          else results[position] = again;
        }
      }
      if (pending) await Promise.all(pending);
    } finally {
      pool.release(consumer);
    }
    storage.unitDone?.();
    return results;
  };
}
