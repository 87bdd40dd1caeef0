import type { Deliver, ResolvedSubscriptionOptions, Subscription } from '../types.ts';
import { createConsumerPool } from './consumer-pool.ts';
import { createKeyLaneDispatcher, type KeyLaneDispatcher } from './key-lanes.ts';
import { deliverUnit, type RunnerItem, type SubscriptionStorage } from './deliver-unit.ts';

export interface SubscriptionRunnerOptions<T extends RunnerItem> {
  /** The subscription, as the first consumer in this process attached it. */
  readonly options: ResolvedSubscriptionOptions;
  /** Where the engine stores outcomes (see `SubscriptionStorage`). */
  readonly storage: SubscriptionStorage<T>;
  /** The capacity changed (a handler attached or began to detach): a good moment to pull or read more. */
  readonly onCapacity?: () => void;
  /**
   * The last handler detached (or `close`): the runner hands out nothing more and dropped what it
   * held. The engine stops reading, gives back what it holds (a broker's unacknowledged messages)
   * and writes its state; do the part a subscription started next for the same name must see
   * synchronously. Called once.
   */
  readonly onStop: () => void | Promise<void>;
}

/**
 * One subscription running in this process: the engine-independent half, shared by every engine.
 * It holds the subscription's events in the key-lane dispatcher (per-key order, other keys in
 * parallel, retries and delays hold back their key only), hands units to the attached handlers
 * (the consumer pool, whose capacity is the dispatcher's concurrency), and settles their outcomes
 * through the engine's `SubscriptionStorage` (`deliver-unit.ts`). The engine's half feeds it
 * (`push`) and stores what it is told; `kit/index.ts` spells out that contract.
 */
export interface SubscriptionRunner<T extends RunnerItem> {
  readonly options: ResolvedSubscriptionOptions;
  /** Holds `item` behind the held events of its key. Ignored while paused or stopped. */
  push(item: T): void;
  /** Events held: waiting, running or waiting for a retry. */
  readonly held: number;
  /** Events that could be handed out now: what a reader keeps topped up (the rest wait for their key, a delay or a retry). */
  readonly ready: number;
  /** Events whose handlers run now. */
  readonly inFlight: number;
  /** Handlers attached and not detaching. */
  readonly consumers: number;
  /** Units that may run at once: the concurrencies of the attached handlers, summed. */
  readonly capacity: number;
  /** Every handler has detached: nothing more is handed out; a new consumer needs a new runner. */
  readonly stopped: boolean;
  /** Attaches a handler with its own concurrency; closing the returned subscription detaches it (running units finish first). */
  attach(deliver: Deliver, concurrency: number): Subscription;
  /** Hands out nothing more and drops what it holds; resolves once the running units are settled. */
  pause(): Promise<void>;
  /** Takes events again after `pause` (the engine pushes them anew). */
  resume(): void;
  /** Detaches every handler and stops (engine close). */
  close(): Promise<void>;
}

export function createSubscriptionRunner<T extends RunnerItem>(runnerOptions: SubscriptionRunnerOptions<T>): SubscriptionRunner<T> {
  const { options, storage } = runnerOptions;
  let stopping: Promise<void> | undefined;
  let inFlight = 0;

  const pool = createConsumerPool({
    onCapacity: (capacity) => {
      dispatcher.setConcurrency(capacity);
      runnerOptions.onCapacity?.();
    },
    onEmpty: () => stop(),
  });

  const run = deliverUnit<T>({
    options,
    storage,
    pool,
    started: (count) => (inFlight += count),
    finished: (count) => (inFlight -= count),
  });

  const makeDispatcher = (): KeyLaneDispatcher<T> =>
    createKeyLaneDispatcher<T>({ ordering: options.ordering, concurrency: pool.capacity, maxBatchSize: options.maxBatchSize, maxWaitMs: options.maxWaitMs, run });
  let dispatcher = makeDispatcher();

  function stop(): Promise<void> {
    stopping ??= (async () => {
      dispatcher.close();
      await runnerOptions.onStop();
      await dispatcher.idle();
    })();
    return stopping;
  }

  return {
    options,
    push: (item) => dispatcher.push(item),
    get held() {
      return dispatcher.size;
    },
    get ready() {
      return dispatcher.ready;
    },
    get inFlight() {
      return inFlight;
    },
    get consumers() {
      return pool.size;
    },
    get capacity() {
      return pool.capacity;
    },
    get stopped() {
      return stopping !== undefined;
    },
    attach(deliver, concurrency) {
      const consumer = pool.attach(deliver, concurrency);
      return { name: options.name, close: () => pool.detach(consumer) };
    },
    async pause() {
      dispatcher.close();
      await dispatcher.idle();
    },
    resume() {
      if (!stopping) dispatcher = makeDispatcher();
    },
    async close() {
      await pool.detachAll();
      await stop();
    },
  };
}
