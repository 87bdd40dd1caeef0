import { DEFAULT_RETRY_POLICY } from './backoff.ts';
import { InvalidOptionsError } from './errors.ts';
import { readTime } from '../contracts/index.ts';
import type { BatchSubscriptionOptions, Position, ResolvedRetryPolicy, ResolvedSubscriptionOptions, SubscriptionOptions } from './types.ts';

/** The documented defaults of `SubscriptionOptions` and `BatchSubscriptionOptions`. */
export const SUBSCRIPTION_DEFAULTS = Object.freeze({
  startAt: 'beginning' as Position,
  concurrency: 1,
  ordering: 'key' as const,
  delayMs: 0,
  maxBatchSize: 500,
  maxWaitMs: 0,
});

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$/;
const TYPE = /^(\*|[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*(\.\*)?)$/;

/**
 * An integer option of the bus or an engine: `fallback` when absent, else `value` if it is an
 * integer from `min` to `max`; throws `InvalidOptionsError` naming `option` otherwise.
 */
export function integerOption(option: string, value: number | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionsError(`${option} must be an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`}, got ${value}`);
  }
  return value;
}

function number(option: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new InvalidOptionsError(`${option} must be a number from ${min} to ${max}, got ${value}`);
  }
  return value;
}

/** Checks a start or rewind position; throws `InvalidOptionsError` naming `option`. */
export function checkPosition(option: string, position: Position): Position {
  if (position === 'beginning' || position === 'now') return position;
  if (typeof position === 'object' && position !== null) {
    if ('sequence' in position && Number.isInteger(position.sequence) && position.sequence >= 0) return position;
    if ('time' in position) {
      // One reading of time everywhere (contracts/time.ts): a time without offset is UTC, never the machine's zone.
      const time = readTime(position.time, { form: 'utc' });
      if (time !== undefined) return { time };
    }
  }
  throw new InvalidOptionsError(`${option} must be 'beginning', 'now', { time } or { sequence >= 0 }, got ${JSON.stringify(position)}`);
}

/**
 * Fills in the defaults of subscription options and checks them; throws `InvalidOptionsError`.
 * The bus does this once per `subscribe`/`subscribeBatch` and hands engines the result.
 */
export function resolveSubscriptionOptions(options: SubscriptionOptions | BatchSubscriptionOptions, mode: 'single' | 'batch' = 'single'): ResolvedSubscriptionOptions {
  if (typeof options.name !== 'string' || !NAME.test(options.name)) {
    throw new InvalidOptionsError(`name must be 1 to 200 letters, digits, "_", ".", ":" or "-" starting with a letter or digit, got ${JSON.stringify(options.name)}`);
  }
  if (!Array.isArray(options.types) || options.types.length === 0) throw new InvalidOptionsError(`types of subscription "${options.name}" must list at least one type`);
  for (const type of options.types) {
    if (typeof type !== 'string' || !TYPE.test(type)) throw new InvalidOptionsError(`types: "${String(type)}" is neither a type, "noun.*" nor "*"`);
  }
  if (options.ordering !== undefined && options.ordering !== 'key' && options.ordering !== 'none') {
    throw new InvalidOptionsError(`ordering must be 'key' or 'none', got ${JSON.stringify(options.ordering)}`);
  }
  const policy = options.retry ?? {};
  const retry: ResolvedRetryPolicy = {
    maxAttempts: integerOption('retry.maxAttempts', policy.maxAttempts, DEFAULT_RETRY_POLICY.maxAttempts, 1),
    initialDelayMs: number('retry.initialDelayMs', policy.initialDelayMs, DEFAULT_RETRY_POLICY.initialDelayMs, 0, 2 ** 31 - 1),
    maxDelayMs: number('retry.maxDelayMs', policy.maxDelayMs, DEFAULT_RETRY_POLICY.maxDelayMs, 0, 2 ** 31 - 1),
    factor: number('retry.factor', policy.factor, DEFAULT_RETRY_POLICY.factor, 1, 1000),
    jitter: number('retry.jitter', policy.jitter, DEFAULT_RETRY_POLICY.jitter, 0, 1),
  };
  const batch = options as BatchSubscriptionOptions;
  return {
    name: options.name,
    mode,
    types: [...new Set(options.types)].sort(),
    startAt: checkPosition('startAt', options.startAt ?? SUBSCRIPTION_DEFAULTS.startAt),
    concurrency: integerOption('concurrency', options.concurrency, SUBSCRIPTION_DEFAULTS.concurrency, 1, 10_000),
    ordering: options.ordering ?? SUBSCRIPTION_DEFAULTS.ordering,
    retry,
    delayMs: integerOption('delayMs', options.delayMs, SUBSCRIPTION_DEFAULTS.delayMs, 0, 2 ** 31 - 1),
    maxBatchSize: mode === 'batch' ? integerOption('maxBatchSize', batch.maxBatchSize, SUBSCRIPTION_DEFAULTS.maxBatchSize, 1, 100_000) : 1,
    maxWaitMs: mode === 'batch' ? integerOption('maxWaitMs', batch.maxWaitMs, SUBSCRIPTION_DEFAULTS.maxWaitMs, 0, 2 ** 31 - 1) : 0,
  };
}
