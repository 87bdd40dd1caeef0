import { describe, expect, it } from 'vitest';
import { InvalidOptionsError } from './errors.ts';
import { checkPosition, resolveSubscriptionOptions } from './options.ts';

describe('resolveSubscriptionOptions', () => {
  it('fills in the documented defaults', () => {
    expect(resolveSubscriptionOptions({ name: 'hub', types: ['order.*'] })).toEqual({
      name: 'hub',
      mode: 'single',
      types: ['order.*'],
      startAt: 'beginning',
      concurrency: 1,
      ordering: 'key',
      retry: { maxAttempts: 10, initialDelayMs: 200, maxDelayMs: 60_000, factor: 2, jitter: 0.5 },
      delayMs: 0,
      maxBatchSize: 1,
      maxWaitMs: 0,
    });
    const batch = resolveSubscriptionOptions({ name: 'warehouse', types: ['*'] }, 'batch');
    expect([batch.mode, batch.maxBatchSize, batch.maxWaitMs]).toEqual(['batch', 500, 0]);
  });

  it('keeps what is given and sorts types', () => {
    const resolved = resolveSubscriptionOptions({
      name: 'x',
      types: ['payment.failed', 'order.*', 'payment.failed'],
      startAt: { sequence: 5 },
      concurrency: 8,
      ordering: 'none',
      retry: { maxAttempts: 3, jitter: 0 },
      delayMs: 300_000,
    });
    expect(resolved.types).toEqual(['order.*', 'payment.failed']);
    expect(resolved.retry).toMatchObject({ maxAttempts: 3, jitter: 0, initialDelayMs: 200 });
    expect([resolved.concurrency, resolved.ordering, resolved.delayMs]).toEqual([8, 'none', 300_000]);
  });

  it.each([
    [{ name: '', types: ['*'] }, /name/],
    [{ name: 'has space', types: ['*'] }, /name/],
    [{ name: 'x', types: [] }, /at least one type/],
    [{ name: 'x', types: ['order.*.x'] }, /order\.\*\.x/],
    [{ name: 'x', types: ['*'], concurrency: 0 }, /concurrency/],
    [{ name: 'x', types: ['*'], retry: { maxAttempts: 0 } }, /retry.maxAttempts/],
    [{ name: 'x', types: ['*'], retry: { jitter: 2 } }, /retry.jitter/],
    [{ name: 'x', types: ['*'], startAt: { time: 'yesterday' } }, /startAt/],
    [{ name: 'x', types: ['*'], startAt: { time: '2024-02-30T00:00:00Z' } }, /startAt/],
    [{ name: 'x', types: ['*'], ordering: 'random' }, /ordering/],
  ])('refuses %j', (options, message) => {
    expect(() => resolveSubscriptionOptions(options as never)).toThrow(InvalidOptionsError);
    expect(() => resolveSubscriptionOptions(options as never)).toThrow(message);
  });
});

describe('checkPosition', () => {
  it('reads a time without offset as UTC, whatever the machine zone, and refuses impossible dates', () => {
    const zone = process.env.TZ;
    process.env.TZ = 'America/Los_Angeles';
    try {
      expect(checkPosition('to', { time: '2026-11-29T16:15:34' })).toEqual({ time: '2026-11-29T16:15:34Z' });
      expect(() => checkPosition('to', { time: '2024-02-30T12:00:00Z' })).toThrow(/to must be/);
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });
});
