/**
 * A circuit breaker per target (opossum): once at least `volumeThreshold` requests in the last
 * 10 s were sent and more than half of them failed (timeouts, network errors, 5xx, 408), it opens
 * and no request goes to the target for `resetTimeoutMs`; then it lets one probe through
 * (half-open): success closes it, failure opens it again. Rejections while open are not attempts:
 * the delivery waits for the probe instead.
 */
import CircuitBreaker from 'opossum';
import { sleep } from './limiter.ts';
import type { CircuitState } from './targets.ts';

export interface BreakerOptions {
  /** How long it stays open before a probe. (Default: 30 000 ms) */
  readonly resetTimeoutMs?: number;
  /** Requests in the rolling 10 s window before it may open. (Default: 10) */
  readonly volumeThreshold?: number;
  readonly onStateChange?: (state: CircuitState) => void;
}

/** A failure that counts against the breaker; carries what the call produced. */
export class CountedFailure<R> extends Error {
  constructor(readonly result: R) {
    super('counted failure');
  }
}

export interface TargetBreaker<R> {
  /**
   * Runs `call` unless the circuit is open: waits while it is (polling every 50 ms, abortable).
   * `counts(result)` says whether the result is a failure for the breaker.
   */
  run(call: () => Promise<R>, counts: (result: R) => boolean, signal?: AbortSignal): Promise<R>;
  readonly state: CircuitState;
  shutdown(): void;
}

export function createBreaker<R>(options: BreakerOptions = {}): TargetBreaker<R> {
  const breaker = new CircuitBreaker(
    async (call: () => Promise<R>, counts: (result: R) => boolean) => {
      const result = await call();
      if (counts(result)) throw new CountedFailure(result);
      return result;
    },
    {
      timeout: false,
      resetTimeout: options.resetTimeoutMs ?? 30_000,
      volumeThreshold: options.volumeThreshold ?? 10,
      errorThresholdPercentage: 50,
      rollingCountTimeout: 10_000,
      rollingCountBuckets: 10,
    },
  );
  const stateOf = (): CircuitState => (breaker.opened ? 'open' : breaker.halfOpen ? 'halfOpen' : 'closed');
  for (const event of ['open', 'halfOpen', 'close'] as const) breaker.on(event as 'open', () => options.onStateChange?.(stateOf()));

  return {
    get state() {
      return stateOf();
    },
    async run(call, counts, signal) {
      for (;;) {
        signal?.throwIfAborted();
        try {
          return await breaker.fire(call, counts);
        } catch (error) {
          if (error instanceof CountedFailure) return error.result as R;
          if ((error as { code?: string }).code !== 'EOPENBREAKER') throw error;
        }
        await sleep(50, signal);
      }
    },
    shutdown: () => breaker.shutdown(),
  };
}
