import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Dialect } from '../../platform/db.ts';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../../../test/support/service-databases.ts';
import { deliveryMigrations } from './index.ts';
import { createLimiter, type RateLimit } from './limiter.ts';
import type { DeliveryDatabase } from './store.ts';

/** Most instants of `times` (ms) in any window of `windowMs`. */
const densest = (times: readonly number[], windowMs: number) => {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i += 1) {
    while (sorted[i]! - sorted[j]! >= windowMs) j += 1;
    most = Math.max(most, i - j + 1);
  }
  return most;
};

describe.each(DIALECTS)('the limiter on %s', (dialect: Dialect) => {
  let test: TestDatabase<DeliveryDatabase> | undefined;
  const others: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const other of others.splice(0)) await other.close();
    await test?.cleanup();
  });
  const rate: RateLimit = { limit: 20, intervalMs: 1_000, burst: 5 };

  /** A second process: its own connections to the same database. */
  const secondProcess = async () => {
    const database = await openDatabase<DeliveryDatabase>(test!.name, test!.config);
    others.push(database);
    return createLimiter(database.db, dialect);
  };

  it('lets a burst go, then the steady rate, shared by two processes', async () => {
    test = await openTestDatabase<DeliveryDatabase>(dialect, 'delivery_limiter', deliveryMigrations);
    const limiters = [createLimiter(test.database.db, dialect), dialect === 'postgres' ? await secondProcess() : createLimiter(test.database.db, dialect)];
    const times: number[] = [];
    const started = Date.now();
    // Four callers per process, 60 requests in all: 5 at once, then 55 at 20/s, about 2.75 s.
    let asked = 0;
    await Promise.all(
      Array.from({ length: 8 }, async (_, caller) => {
        while (asked < 60) {
          asked += 1;
          await limiters[caller % 2]!.acquire('t1', rate);
          times.push(Date.now());
        }
      }),
    );
    // Together the two processes cannot finish sooner than the limit allows: the burst, then 20/s.
    const elapsed = Math.max(...times) - started;
    expect(elapsed).toBeGreaterThanOrEqual(((times.length - rate.burst) * 1000) / rate.limit - 60);
    // GCRA: at most burst + window / T in any window. A caller returns when its slot has come, or
    // later on a busy machine: a stall of up to 500 ms may bunch slots that came due meanwhile.
    expect(densest(times, 1_000)).toBeLessThanOrEqual(rate.burst + rate.limit + 10);
  }, 20_000);

  it('survives a restart: a new process gets no fresh burst, and keeps a pause', async () => {
    test = await openTestDatabase<DeliveryDatabase>(dialect, 'delivery_limiter', deliveryMigrations);
    // One a second: wide margins for a busy machine.
    const slow: RateLimit = { limit: 1, intervalMs: 1_000, burst: 5 };
    const first = createLimiter(test.database.db, dialect);
    // The burst goes without waiting for a slot (the next slot would be a second away).
    const burstStarted = Date.now();
    for (let i = 0; i < slow.burst; i += 1) await first.acquire('t2', slow);
    expect(Date.now() - burstStarted).toBeLessThan(700);
    const restarted = await secondProcess();
    // The bucket is empty: the next request waits for the next slot, whichever process asks.
    expect(await restarted.acquire('t2', slow)).toBeGreaterThan(250);

    await restarted.pause('t2', slow, Date.now() + 400, 'Retry-After (429)');
    const state = await first.state('t2', slow);
    expect(state.pauseReason).toBe('Retry-After (429)');
    const before = Date.now();
    await first.acquire('t2', slow);
    expect(Date.now() - before).toBeGreaterThanOrEqual(380);
    // After a pause the target's bucket is full: one request, then the steady rate (no burst).
    const next = Date.now();
    await first.acquire('t2', slow);
    expect(Date.now() - next).toBeGreaterThanOrEqual(700);
  }, 20_000);

  it('learns the target\'s bucket level and a smaller bucket size', async () => {
    test = await openTestDatabase<DeliveryDatabase>(dialect, 'delivery_limiter', deliveryMigrations);
    const limiter = createLimiter(test.database.db, dialect);
    // One a minute: the bucket does not drain while the test looks at it.
    const rate: RateLimit = { limit: 1, intervalMs: 60_000, burst: 5 };
    expect((await limiter.state('t3', rate)).available).toBe(5);
    await limiter.observeFill('t3', rate, 3, 4);
    const state = await limiter.state('t3', rate);
    expect(state.learnedSize).toBe(4);
    expect(state.available).toBeLessThanOrEqual(1);
    // A bigger bucket with little room left: we let no more go than it has room for.
    await limiter.observeFill('t4', rate, 38, 40);
    expect((await limiter.state('t4', rate)).available).toBe(2);
    // Plenty of room: our own burst stays the bound.
    await limiter.observeFill('t5', rate, 10, 40);
    expect((await limiter.state('t5', rate)).available).toBe(5);
  });
});
