import { describe, expect, it } from 'vitest';
import { SubscriptionConflictError } from '../errors.ts';
import { resolveSubscriptionOptions } from '../options.ts';
import type { BatchSubscriptionOptions, ResolvedSubscriptionOptions } from '../types.ts';
import { conflictsOf } from './compatibility.ts';
import type { RunnerItem } from './deliver-unit.ts';
import { runningSubscriptions } from './running-subscriptions.ts';
import { createSubscriptionRunner, type SubscriptionRunner } from './subscription-runner.ts';

const base = { name: 'mailer', types: ['order.*', 'payment.failed'] } as const;
const resolved = (options: Partial<BatchSubscriptionOptions> = {}, mode: 'single' | 'batch' = 'single') =>
  resolveSubscriptionOptions({ ...base, ...options } as BatchSubscriptionOptions, mode);
const ack = async () => [{ kind: 'ack' } as const];

describe('conflictsOf', () => {
  it('names every shared option that differs, with both values; concurrency and startAt may differ', () => {
    const running = resolved({ retry: { maxAttempts: 3 } });
    expect(conflictsOf(running, resolved({ retry: { maxAttempts: 3 }, concurrency: 8, startAt: 'now' }))).toEqual([]);
    expect(conflictsOf(resolved(), resolved({ retry: { maxAttempts: 10, jitter: 0.5 } }))).toEqual([]);
    expect(conflictsOf(running, resolved({ retry: { maxAttempts: 4 } }))).toEqual([expect.stringMatching(/^retry policy \(\{"maxAttempts":4,.*\} vs \{"maxAttempts":3,/)]);
    expect(conflictsOf(running, resolved({ types: ['order.*'], ordering: 'none', delayMs: 5, retry: { maxAttempts: 3 } }))).toEqual([
      'types (order.* vs order.*, payment.failed)',
      'ordering (none vs key)',
      'delayMs (5 vs 0)',
    ]);
    expect(conflictsOf(resolved({}, 'batch'), resolved({ maxBatchSize: 10, maxWaitMs: 50 }, 'batch'))).toEqual(['maxBatchSize (10 vs 500)', 'maxWaitMs (50 vs 0)']);
    expect(conflictsOf(resolved(), resolved({}, 'batch'))).toEqual(['mode (batch vs single)', 'maxBatchSize (500 vs 1)']);
  });
});

describe('runningSubscriptions', () => {
  interface Running {
    readonly runner: SubscriptionRunner<RunnerItem>;
  }
  const start = (starts: ResolvedSubscriptionOptions[]) => async (options: ResolvedSubscriptionOptions): Promise<Running> => {
    starts.push(options);
    const storage = { ack: () => undefined, retry: () => undefined, dead: () => undefined };
    return { runner: createSubscriptionRunner<RunnerItem>({ options, storage, onStop: () => undefined }) };
  };

  it('starts a subscription once for concurrent consumers, refuses one whose options differ, and starts anew once stopped', async () => {
    const running = runningSubscriptions<Running>();
    const starts: ResolvedSubscriptionOptions[] = [];
    const [a, b] = await Promise.all([running.attach(resolved(), ack, start(starts)), running.attach(resolved({ concurrency: 4 }), ack, start(starts))]);
    expect(starts).toHaveLength(1);
    expect(running.get('mailer')?.runner).toMatchObject({ consumers: 2, capacity: 5 });
    await expect(running.attach(resolved({ retry: { maxAttempts: 2 } }), ack, start(starts))).rejects.toThrow(SubscriptionConflictError);
    await expect(running.attach(resolved({ retry: { maxAttempts: 2 } }), ack, start(starts))).rejects.toThrow(/subscription "mailer" is running in this process with other retry policy/);
    await a.close();
    await b.close();
    expect(running.get('mailer')).toBeUndefined();
    await running.attach(resolved({ retry: { maxAttempts: 2 } }), ack, start(starts));
    expect(starts.map((s) => s.retry.maxAttempts)).toEqual([10, 2]);
    await running.closeAll();
    expect(running.all()).toEqual([]);
  });

  it('rejects every waiting consumer when the start fails, and tries again on the next', async () => {
    const running = runningSubscriptions<Running>();
    const failing = async (): Promise<Running> => {
      throw new Error('no server');
    };
    const results = await Promise.allSettled([running.attach(resolved(), ack, failing), running.attach(resolved(), ack, failing)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(await running.whenRunning('mailer')).toBeUndefined();
    const starts: ResolvedSubscriptionOptions[] = [];
    await running.attach(resolved(), ack, start(starts));
    expect(starts).toHaveLength(1);
    await running.closeAll();
  });
});
