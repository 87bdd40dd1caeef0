import { describe, expect, it } from 'vitest';
import type { CloudEvent } from '../../contracts/index.ts';
import { resolveSubscriptionOptions } from '../options.ts';
import type { Deliver, SubscriptionOptions } from '../types.ts';
import { NO_OUTCOME, type DeadVerdict, type RetryVerdict, type RunnerItem, type SubscriptionStorage } from './deliver-unit.ts';
import { createSubscriptionRunner } from './subscription-runner.ts';

interface Item extends RunnerItem {
  readonly n: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const event = (n: number): CloudEvent => ({ specversion: '1.0', id: `e${n}`, source: '/test', type: 'cart.item_added', time: '', datacontenttype: 'application/json', data: { n }, sequence: n, recordedtime: '' });
const item = (n: number, key?: string, attempts = 0): Item => ({ n, key, readyAt: 0, attempts, event: event(n) });

async function until(condition: () => boolean, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(2);
  }
}

/** A storage that records what the runner told it, synchronously or (`async`) a turn later. */
function recordingStorage(async = false) {
  const acked: number[] = [];
  const retried: { n: number; verdict: RetryVerdict }[] = [];
  const dead: { n: number; verdict: DeadVerdict }[] = [];
  const later = <T>(value: T): T | Promise<T> => (async ? sleep(1).then(() => value) : value);
  const storage: SubscriptionStorage<Item> = {
    ack: (i) => later(void acked.push(i.n)),
    retry: (i, verdict) => later((retried.push({ n: i.n, verdict }), verdict.at)),
    dead: (i, verdict) => later(void dead.push({ n: i.n, verdict })),
  };
  return { storage, acked, retried, dead };
}

function runnerWith(options: Omit<SubscriptionOptions, 'name' | 'types'> & { maxBatchSize?: number }, storage: SubscriptionStorage<Item>, mode: 'single' | 'batch' = 'single') {
  let stops = 0;
  const runner = createSubscriptionRunner<Item>({
    options: resolveSubscriptionOptions({ name: 'test', types: ['*'], ...options }, mode),
    storage,
    onStop: () => void stops++,
  });
  return { runner, stops: () => stops };
}

describe('subscription runner', () => {
  it.each([false, true])('acks, retries after the backoff or retryAfter, and dead-letters after the last attempt (async storage: %s)', async (async) => {
    const { storage, acked, retried, dead } = recordingStorage(async);
    const { runner } = runnerWith({ retry: { maxAttempts: 3, initialDelayMs: 10, jitter: 0 } }, storage);
    const attempts: Record<number, number[]> = {};
    runner.attach(async ([e], context) => {
      const n = (e.data as { n: number }).n;
      (attempts[n] ??= []).push(context.attempt);
      if (n === 1) return [{ kind: 'ack' }];
      if (n === 2) return [context.attempt === 1 ? { kind: 'retry', error: 'later', delayMs: 30 } : { kind: 'ack' }];
      return [{ kind: 'retry', error: `down ${context.attempt}` }];
    }, 1);
    const start = Date.now();
    for (const n of [1, 2, 3]) runner.push(item(n));
    await until(() => dead.length === 1 && acked.length === 2);
    expect(attempts).toEqual({ 1: [1], 2: [1, 2], 3: [1, 2, 3] });
    expect(retried.find((r) => r.n === 2)?.verdict).toMatchObject({ attempts: 1, error: 'later' });
    const two = retried.find((r) => r.n === 2)!.verdict;
    expect(two.at - two.failedAt).toBe(30);
    const three = retried.filter((r) => r.n === 3).map((r) => r.verdict.at - r.verdict.failedAt);
    expect(three).toEqual([10, 20]);
    expect(dead[0]).toMatchObject({ n: 3, verdict: { attempts: 3, error: 'down 3' } });
    expect(Date.now() - start).toBeGreaterThanOrEqual(28);
  });

  it('dead-letters at once on a dead outcome, and retries an event without an outcome or whose handler threw', async () => {
    const { storage, retried, dead } = recordingStorage();
    const { runner } = runnerWith({ retry: { maxAttempts: 3, initialDelayMs: 1, jitter: 0 } }, storage, 'batch');
    let calls = 0;
    runner.attach(async (events) => {
      calls++;
      if (calls === 1) return [{ kind: 'dead', error: 'poison' }];
      if (calls === 2) throw new TypeError('boom');
      return events.map(() => ({ kind: 'ack' }) as const);
    }, 1);
    runner.push(item(1));
    runner.push(item(2));
    await until(() => dead.length === 1 && calls >= 3);
    expect(dead[0]).toMatchObject({ n: 1, verdict: { error: 'poison', attempts: 1 } });
    // One call with both: the first got the dead outcome, the second none.
    expect(retried[0]).toMatchObject({ n: 2, verdict: { error: NO_OUTCOME, attempts: 1 } });
    expect(retried[1]).toMatchObject({ n: 2, verdict: { error: 'TypeError: boom', attempts: 2 } });
    expect(dead).toHaveLength(1);
  });

  it('gives one backoff instant to every event of a failed batch, and the highest attempt as context', async () => {
    const { storage, retried } = recordingStorage();
    const { runner } = runnerWith({ retry: { initialDelayMs: 50, jitter: 1 }, maxBatchSize: 10 }, storage, 'batch');
    const contexts: number[] = [];
    runner.attach(async (events, context) => {
      contexts.push(context.attempt);
      return events.map(() => ({ kind: 'retry', error: 'busy' }) as const);
    }, 1);
    for (const [n, attempts] of [[1, 0], [2, 3], [3, 1]]) runner.push(item(n, undefined, attempts));
    await until(() => retried.length >= 3);
    const first = retried.slice(0, 3);
    expect(contexts[0]).toBe(4);
    expect(new Set(first.map((r) => r.verdict.at)).size).toBe(1);
    expect(first.map((r) => r.verdict.attempts)).toEqual([1, 4, 2]);
    await runner.close();
  });

  it('dead-letters unread an event whose stored attempts reach maxAttempts (its last delivery never finished)', async () => {
    const { storage, dead } = recordingStorage();
    const { runner } = runnerWith({ retry: { maxAttempts: 3 } }, storage);
    let called = false;
    runner.attach(async () => ((called = true), [{ kind: 'ack' }]), 1);
    runner.push(item(1, 'k', 3));
    await until(() => dead.length === 1);
    expect(dead[0].verdict).toMatchObject({ attempts: 3, error: expect.stringContaining('gave up after 3 attempts') });
    expect(called).toBe(false);
  });

  it('lets the engine screen items: settled by the engine, dropped or run again', async () => {
    const { storage, acked } = recordingStorage();
    const handled: number[] = [];
    storage.screen = (i) => (i.n === 1 ? undefined : i.n === 2 ? Promise.resolve(undefined) : 'deliver');
    const { runner } = runnerWith({ maxBatchSize: 10 }, storage, 'batch');
    runner.attach(async (events) => {
      handled.push(...events.map((e) => (e.data as { n: number }).n));
      return events.map(() => ({ kind: 'ack' }) as const);
    }, 1);
    for (const n of [1, 2, 3, 4]) runner.push(item(n));
    await until(() => acked.length === 2);
    expect(handled).toEqual([3, 4]);
    expect(acked).toEqual([3, 4]);
  });

  it('shares events between consumers up to the sum of their concurrencies; a closing one finishes its units, the last stops the runner', async () => {
    const { storage, acked } = recordingStorage(true);
    const { runner, stops } = runnerWith({ ordering: 'none' }, storage);
    let running = 0;
    let most = 0;
    const byConsumer = { a: 0, b: 0 };
    const handler = (name: 'a' | 'b'): Deliver => async () => {
      most = Math.max(most, ++running);
      byConsumer[name]++;
      await sleep(5);
      running--;
      return [{ kind: 'ack' }];
    };
    const a = runner.attach(handler('a'), 1);
    const b = runner.attach(handler('b'), 2);
    expect([runner.capacity, runner.consumers]).toEqual([3, 2]);
    for (let n = 0; n < 30; n++) runner.push(item(n));
    await until(() => acked.length === 30);
    expect(most).toBe(3);
    expect(byConsumer.a).toBeGreaterThan(0);
    expect(byConsumer.b).toBeGreaterThan(byConsumer.a);

    runner.push(item(100));
    await until(() => running > 0);
    const closing = a.close();
    expect(runner.capacity).toBe(2);
    await closing;
    await b.close();
    expect(running).toBe(0);
    expect(acked).toContain(100);
    expect([runner.stopped, stops(), runner.consumers]).toEqual([true, 1, 0]);
    runner.push(item(101));
    await sleep(10);
    expect(acked).not.toContain(101);
  });

  it('pause settles the running units and drops the rest; resume takes events again', async () => {
    const { storage, acked } = recordingStorage();
    const { runner } = runnerWith({}, storage);
    let release!: () => void;
    runner.attach(async ([e]) => {
      if ((e.data as { n: number }).n === 1) await new Promise<void>((resolve) => (release = resolve));
      return [{ kind: 'ack' }];
    }, 1);
    runner.push(item(1));
    runner.push(item(2));
    await until(() => runner.inFlight === 1);
    const paused = runner.pause();
    release();
    await paused;
    expect(acked).toEqual([1]);
    expect(runner.held).toBe(0);
    runner.resume();
    runner.push(item(3));
    await until(() => acked.length === 2);
    expect(acked).toEqual([1, 3]);
  });
});
