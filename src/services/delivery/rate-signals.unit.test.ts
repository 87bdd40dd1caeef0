import { describe, expect, it } from 'vitest';
import { parseRetryAfter, readRateSignals } from './rate-signals.ts';

const now = Date.parse('2026-01-01T00:00:00Z');

describe('rate-limit signals of a reply', () => {
  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('2.0', now)).toBe(now + 2_000);
    expect(parseRetryAfter('120', now)).toBe(now + 120_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(now + 30_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });

  it('a 429 is throttling until Retry-After, with the shop platform bucket', () => {
    expect(readRateSignals(429, { 'retry-after': '2.0', 'x-shopify-shop-api-call-limit': '40/40' }, '', now)).toEqual({
      throttled: true,
      retryAt: now + 2_000,
      reason: 'Retry-After (429)',
      bucket: { used: 40, size: 40 },
    });
    expect(readRateSignals(200, { 'x-shopify-shop-api-call-limit': '32/40' }, '', now)).toEqual({ throttled: false, bucket: { used: 32, size: 40 } });
    expect(readRateSignals(429, {}, '', now)).toEqual({ throttled: true, bucket: undefined });
  });

  it('reads the IETF RateLimit headers and the common X-RateLimit ones', () => {
    expect(readRateSignals(200, { ratelimit: '"default";r=0;t=30', 'ratelimit-policy': '"default";q=100;w=60' }, '', now)).toMatchObject({ throttled: false, retryAt: now + 30_000, paceMs: 600 });
    expect(readRateSignals(200, { 'ratelimit-policy': '10;w=1' }, '', now).paceMs).toBe(100);
    expect(readRateSignals(200, { ratelimit: 'limit=100, remaining=0, reset=5' }, '', now)).toMatchObject({ retryAt: now + 5_000 });
    expect(readRateSignals(200, { 'ratelimit-remaining': '0', 'ratelimit-reset': '7' }, '', now)).toMatchObject({ retryAt: now + 7_000 });
    expect(readRateSignals(200, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(now / 1000 + 9) }, '', now)).toMatchObject({ retryAt: now + 9_000 });
    expect(readRateSignals(200, { 'x-ratelimit-remaining': '3', 'x-ratelimit-reset': '9' }, '', now).retryAt).toBeUndefined();
  });

  it('a GraphQL 200 with a THROTTLED error waits until the cost is restored', () => {
    const body = JSON.stringify({
      errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED' } }],
      extensions: { cost: { requestedQueryCost: 101, actualQueryCost: null, throttleStatus: { maximumAvailable: 1000, currentlyAvailable: 1, restoreRate: 50 } } },
    });
    expect(readRateSignals(200, { 'content-type': 'application/json' }, body, now)).toEqual({
      throttled: true,
      retryAt: now + 2_000,
      reason: 'GraphQL THROTTLED',
      bucket: { used: 999, size: 1000 },
      // 101 points a request, 50 restored a second: one request every 2.02 s.
      paceMs: 2_020,
    });
    expect(readRateSignals(200, {}, '{"data":{"ok":true}}', now)).toEqual({ throttled: false, bucket: undefined });
    const ok = { data: {}, extensions: { cost: { requestedQueryCost: 10, actualQueryCost: 8, throttleStatus: { maximumAvailable: 1000, currentlyAvailable: 990, restoreRate: 50 } } } };
    expect(readRateSignals(200, {}, JSON.stringify(ok), now)).toEqual({ throttled: false, bucket: { used: 10, size: 1000 }, paceMs: 200 });
    expect(readRateSignals(200, {}, '{"errors":[{"extensions":{"code":"NOT_THROTTLED"}}], "extensions": {}}', now).throttled).toBe(false);
  });

  it('a 503 with Retry-After says when to come back without being throttling', () => {
    expect(readRateSignals(503, { 'retry-after': '10' }, '', now)).toMatchObject({ throttled: false, retryAt: now + 10_000 });
  });
});
