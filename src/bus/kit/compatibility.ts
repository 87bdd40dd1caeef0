import { SubscriptionConflictError } from '../errors.ts';
import type { ResolvedSubscriptionOptions } from '../types.ts';

type Compared = Exclude<keyof ResolvedSubscriptionOptions, 'name' | 'concurrency' | 'startAt' | 'retry'>;

/** Options every consumer of one subscription shares, beside the retry policy; shown by these names. */
const SHARED: readonly Compared[] = ['mode', 'types', 'ordering', 'delayMs', 'maxBatchSize', 'maxWaitMs'];

const show = (value: unknown): string => (Array.isArray(value) ? value.join(', ') : typeof value === 'object' ? JSON.stringify(value) : String(value));

/**
 * The options in which `wanted` contradicts the subscription running as `running`, with both
 * values, e.g. `retry policy ({"maxAttempts":4,…} vs {"maxAttempts":3,…})`; empty when they agree.
 *
 * Consumers of one subscription share its events, so they must agree on what those events are and
 * how they are handed out and retried: `mode` (single or batch handler), `types`, `ordering`,
 * `delayMs`, `maxBatchSize`, `maxWaitMs` and the whole retry policy (a retried event may reach any
 * of them). `concurrency` is each consumer's own; `startAt` applies only where a subscription is
 * created. Options are compared resolved, so a default spelled out equals the default left out.
 */
export function conflictsOf(running: ResolvedSubscriptionOptions, wanted: ResolvedSubscriptionOptions): string[] {
  const differs: string[] = [];
  for (const option of SHARED) {
    const a = show(wanted[option]);
    const b = show(running[option]);
    if (a !== b) differs.push(`${option} (${a} vs ${b})`);
  }
  const policy = (options: ResolvedSubscriptionOptions) => {
    const { maxAttempts, initialDelayMs, maxDelayMs, factor, jitter } = options.retry;
    return JSON.stringify({ maxAttempts, initialDelayMs, maxDelayMs, factor, jitter });
  };
  if (policy(wanted) !== policy(running)) differs.push(`retry policy (${policy(wanted)} vs ${policy(running)})`);
  return differs;
}

/**
 * Refuses a consumer whose options contradict the subscription running in this process (see
 * `conflictsOf` for which options must agree).
 * @throws SubscriptionConflictError naming each option that differs, the new value first.
 */
export function assertCompatible(running: ResolvedSubscriptionOptions, wanted: ResolvedSubscriptionOptions): void {
  const differs = conflictsOf(running, wanted);
  if (differs.length > 0) throw new SubscriptionConflictError(`subscription "${running.name}" is running in this process with other ${differs.join(', ')}`);
}
