import type { ResolvedRetryPolicy, RetryPolicy } from './types.ts';

/** The defaults of `RetryPolicy`, as its documentation states them. */
export const DEFAULT_RETRY_POLICY: ResolvedRetryPolicy = Object.freeze({
  maxAttempts: 10,
  initialDelayMs: 200,
  maxDelayMs: 60_000,
  factor: 2,
  jitter: 0.5,
});

/**
 * The delay before the next delivery after failed attempt number `attempt` (1 = the first delivery
 * failed): `min(maxDelayMs, initialDelayMs × factor^(attempt−1)) × (1 − jitter × random)`.
 * `jitter: 1` is full jitter (anywhere from 0 to the delay), `jitter: 0` none.
 */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const { initialDelayMs, maxDelayMs, factor, jitter } = { ...DEFAULT_RETRY_POLICY, ...policy };
  const exponent = Math.max(0, Math.floor(attempt) - 1);
  const delay = Math.min(maxDelayMs, initialDelayMs * Math.pow(factor, exponent));
  return Math.max(0, Math.round(delay * (1 - jitter * random())));
}
