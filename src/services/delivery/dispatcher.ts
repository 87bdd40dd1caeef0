/**
 * Keeps one bus subscription per active target in this process, and each target's circuit
 * breaker. Every process running the delivery service rereads the targets every `refreshMs` (and at
 * once after a change made through it): new targets are subscribed, paused / disabled / removed
 * ones closed, and a target whose subscription options changed (types, ordering, retry, in-flight)
 * is resubscribed. Everything else (url, headers, secrets, limits) is read per request.
 */
import { setMaxListeners } from 'node:events';
import { Agent } from 'undici';
import type { Logger } from 'pino';
import type { Bus, Subscription } from '../../bus/index.ts';
import type { AttemptLog, AttemptOutcome } from './attempts.ts';
import { createBreaker, type TargetBreaker } from './breaker.ts';
import { deliverTo } from './deliver.ts';
import type { Limiter } from './limiter.ts';
import type { SendResult } from './send.ts';
import { subscriptionOf, type Target, type TargetStore } from './targets.ts';

export interface DispatcherDeps {
  readonly bus: Bus;
  readonly targets: TargetStore;
  readonly limiter: Limiter;
  readonly attempts: AttemptLog;
  readonly logger: Logger;
  readonly refreshMs: number;
  readonly breakerResetMs: number;
  /** Told each delivery attempt's outcome (the metrics). (Default: nothing) */
  readonly onAttempt?: (targetId: string, outcome: AttemptOutcome) => void;
  /** Whether this process delivers (false: the routes only). */
  readonly deliver: boolean;
}

export interface Dispatcher {
  /** Rereads the targets now and (re)subscribes what changed; resolves once done. */
  refresh(): Promise<void>;
  /** The circuit of a target in this process (closed when it never sent here). */
  circuit(targetId: string): string | undefined;
  /** Every circuit of this process: the targets that sent here, with their state. */
  circuits(): { target: string; state: string; limitPerSecond?: number }[];
  stop(): Promise<void>;
}

interface Running {
  target: Target;
  readonly subscription: Subscription;
  readonly abort: AbortController;
}

/** What a subscription is made of: a change here needs a new subscription. */
const shapeOf = (t: Target) => JSON.stringify([t.types, t.ordering, t.retry, t.maxInFlight]);

export function startDispatcher(deps: DispatcherDeps): Dispatcher {
  const { bus, targets, logger } = deps;
  const running = new Map<string, Running>();
  const breakers = new Map<string, TargetBreaker<SendResult>>();
  const agent = new Agent({ keepAliveTimeout: 10_000, connections: 256 });
  let stopped = false;
  let chain: Promise<void> = Promise.resolve();

  const breakerOf = (target: Target) => {
    let breaker = breakers.get(target.id);
    if (!breaker) {
      breaker = createBreaker<SendResult>({
        resetTimeoutMs: deps.breakerResetMs,
        onStateChange: (state) => {
          logger.warn({ target: target.id, circuit: state }, 'target circuit changed');
          targets.setCircuit(target.id, state).catch((err: unknown) => logger.error({ err, target: target.id }, 'could not record the circuit state'));
        },
      });
      breakers.set(target.id, breaker);
    }
    return breaker;
  };

  const close = async (id: string) => {
    const run = running.get(id);
    if (!run) return;
    running.delete(id);
    run.abort.abort(new Error('delivery stopped'));
    await run.subscription.close();
  };

  const open = async (target: Target) => {
    const abort = new AbortController();
    // Every delivery in flight (up to maxInFlight) waits on this signal.
    setMaxListeners(0, abort.signal);
    const entry = { target } as { target: Target };
    const handler = deliverTo({
      target: () => entry.target,
      limiter: deps.limiter,
      breaker: breakerOf(target),
      attempts: deps.attempts,
      dispatcher: agent,
      logger,
      signal: abort.signal,
      ...(deps.onAttempt ? { onAttempt: deps.onAttempt } : {}),
      disable: async (reason) => {
        await targets.setStatus(target.id, 'disabled', reason);
        logger.warn({ target: target.id, reason }, 'target disabled');
        void refresh();
      },
    });
    const subscription = await bus.subscribe(
      { name: subscriptionOf(target.id), types: target.types as string[] as never, startAt: target.startAt, concurrency: target.maxInFlight, ordering: target.ordering, retry: target.retry },
      handler,
    );
    running.set(target.id, Object.assign(entry, { subscription, abort }));
  };

  const reconcile = async () => {
    if (stopped || !deps.deliver) return;
    const wanted = new Map((await targets.list()).filter((t) => t.status === 'active').map((t) => [t.id, t]));
    for (const [id, run] of [...running]) {
      const now = wanted.get(id);
      if (!now || shapeOf(now) !== shapeOf(run.target)) await close(id);
      else run.target = now;
    }
    for (const [id, target] of wanted) {
      if (running.has(id) || stopped) continue;
      try {
        await open(target);
      } catch (err) {
        logger.error({ err, target: id }, 'could not subscribe the target');
      }
    }
    for (const id of [...breakers.keys()]) {
      if (!wanted.has(id)) {
        breakers.get(id)!.shutdown();
        breakers.delete(id);
      }
    }
  };

  const refresh = (): Promise<void> => {
    chain = chain.then(reconcile).catch((err: unknown) => logger.error({ err }, 'could not refresh the targets'));
    return chain;
  };
  const timer = setInterval(() => void refresh(), deps.refreshMs);
  timer.unref();

  return {
    refresh,
    circuit: (id) => breakers.get(id)?.state,
    circuits: () =>
      [...breakers].map(([target, breaker]) => {
        const limit = running.get(target)?.target.rateLimit;
        return { target, state: breaker.state, ...(limit ? { limitPerSecond: (limit.limit * 1000) / limit.intervalMs } : {}) };
      }),
    async stop() {
      stopped = true;
      clearInterval(timer);
      await chain;
      await Promise.all([...running.keys()].map(close));
      for (const breaker of breakers.values()) breaker.shutdown();
      await agent.close();
    },
  };
}
