import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.ts';

describe('backoffDelay', () => {
  const noJitter = { initialDelayMs: 100, factor: 2, maxDelayMs: 1_000, jitter: 0 };

  it('grows exponentially from the initial delay and stops at the maximum', () => {
    expect([1, 2, 3, 4, 5, 6].map((attempt) => backoffDelay(noJitter, attempt))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('takes the share `jitter` of the delay off at random (partial jitter)', () => {
    const policy = { ...noJitter, jitter: 0.5 };
    expect(backoffDelay(policy, 3, () => 0)).toBe(400);
    expect(backoffDelay(policy, 3, () => 0.999999)).toBe(200);
    expect(backoffDelay(policy, 3, () => 0.5)).toBe(300);
  });

  it('spreads over the whole delay with full jitter', () => {
    const policy = { ...noJitter, jitter: 1 };
    expect(backoffDelay(policy, 2, () => 0.999999)).toBe(0);
    expect(backoffDelay(policy, 2, () => 0.25)).toBe(150);
  });

  it('uses the documented defaults: 200 ms, ×2, half jitter, 60 s cap', () => {
    expect(backoffDelay({}, 1, () => 0)).toBe(200);
    expect(backoffDelay({}, 1, () => 1)).toBe(100);
    expect(backoffDelay({}, 30, () => 0)).toBe(60_000);
  });
});
