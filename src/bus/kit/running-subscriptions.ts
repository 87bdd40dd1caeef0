import type { Deliver, ResolvedSubscriptionOptions, Subscription } from '../types.ts';
import { assertCompatible } from './compatibility.ts';
import type { SubscriptionRunner } from './subscription-runner.ts';
import type { RunnerItem } from './deliver-unit.ts';

/** What the registry needs of an engine's running subscription: the kit runner it drives. */
export interface RunsSubscription {
  readonly runner: Pick<SubscriptionRunner<RunnerItem>, 'options' | 'stopped' | 'attach' | 'close'>;
}

/**
 * The subscriptions running in this process, one per name: what an engine's `consume` attaches
 * consumers to. A stopped one (its last consumer detached) is forgotten, so the next consumer of
 * that name starts it anew.
 */
export interface RunningSubscriptions<S extends RunsSubscription> {
  /**
   * Attaches `deliver` to subscription `options.name`: to the one running here, after checking that
   * the options agree (`assertCompatible`: throws `SubscriptionConflictError`), else to the one
   * `start` makes (the engine creates or opens the subscription's stored state there, at
   * `options.startAt` when new). Concurrent calls for one name start it once; when `start`
   * fails, each of them rejects with its error.
   */
  attach(options: ResolvedSubscriptionOptions, deliver: Deliver, start: (options: ResolvedSubscriptionOptions) => S | Promise<S>): Promise<Subscription>;
  /** The running subscription of that name (not one still starting). */
  get(name: string): S | undefined;
  /** The running subscription of that name, once one that is starting has started. */
  whenRunning(name: string): Promise<S | undefined>;
  /** Every running subscription. */
  all(): S[];
  /** Closes every running subscription (engine close), after those starting have started. */
  closeAll(): Promise<void>;
}

export function runningSubscriptions<S extends RunsSubscription>(): RunningSubscriptions<S> {
  const running = new Map<string, S>();
  const starting = new Map<string, Promise<S>>();

  const get = (name: string): S | undefined => {
    const subscription = running.get(name);
    if (!subscription?.runner.stopped) return subscription;
    running.delete(name);
    return undefined;
  };

  const startOnce = (options: ResolvedSubscriptionOptions, start: (options: ResolvedSubscriptionOptions) => S | Promise<S>): Promise<S> => {
    let pending = starting.get(options.name);
    if (!pending) {
      const started = Promise.resolve()
        .then(() => start(options))
        .then((subscription) => {
          running.set(options.name, subscription);
          return subscription;
        })
        .finally(() => {
          if (starting.get(options.name) === started) starting.delete(options.name);
        });
      pending = started;
      starting.set(options.name, started);
    }
    return pending;
  };

  return {
    async attach(options, deliver, start) {
      const subscription = get(options.name) ?? (await startOnce(options, start));
      assertCompatible(subscription.runner.options, options);
      return subscription.runner.attach(deliver, options.concurrency);
    },
    get,
    async whenRunning(name) {
      await starting.get(name)?.catch(() => undefined);
      return get(name);
    },
    all: () => [...running.keys()].map(get).filter((subscription): subscription is S => subscription !== undefined),
    async closeAll() {
      await Promise.all([...starting.values()].map((pending) => pending.catch(() => undefined)));
      await Promise.all([...running.values()].map((subscription) => subscription.runner.close()));
      running.clear();
    },
  };
}
