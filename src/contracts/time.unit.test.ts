import { afterEach, describe, expect, it } from 'vitest';
import { readTime, timeMs } from './time.ts';

const zone = process.env.TZ;
afterEach(() => {
  if (zone === undefined) delete process.env.TZ;
  else process.env.TZ = zone;
});

describe('readTime: one reading of time for every input', () => {
  it('refuses impossible dates and times in both forms', () => {
    for (const text of ['2024-02-30T12:00:00Z', '2023-02-29T12:00:00Z', '2024-13-01T00:00:00Z', '2024-04-31T00:00:00Z', '2024-01-01T24:00:00Z', '2024-01-01T12:60:00Z', '2024-01-01T12:00:60Z', '2024-01-01T12:00:00+24:00', '2024-00-10T12:00:00Z']) {
      expect(readTime(text, { form: 'rfc3339' }), text).toBeUndefined();
      expect(readTime(text, { form: 'utc' }), text).toBeUndefined();
    }
    expect(readTime('2024-02-29T12:00:00Z', { form: 'rfc3339' })).toBe('2024-02-29T12:00:00Z');
    expect(readTime('yesterday', { form: 'utc' })).toBeUndefined();
    expect(readTime(1714564800000, { form: 'utc' })).toBeUndefined();
  });

  it('RFC 3339 requires seconds and an offset; the UTC form reads a time without offset as UTC', () => {
    expect(readTime('2024-05-01T12:00:00', { form: 'rfc3339' })).toBeUndefined();
    expect(readTime('2024-05-01T12:00Z', { form: 'rfc3339' })).toBeUndefined();
    expect(readTime('2024-05-01T12:00:00.123456+0530', { form: 'rfc3339' })).toBe('2024-05-01T12:00:00.123456+05:30');
    expect(readTime('2024-05-01 12:00', { form: 'utc' })).toBe('2024-05-01T12:00:00Z');
    expect(readTime('2022-07-17T10:00:00.123456', { form: 'utc' })).toBe('2022-07-17T10:00:00.123456Z');
  });

  it('does not depend on the machine time zone', () => {
    process.env.TZ = 'America/Los_Angeles';
    expect(new Date(2026, 10, 29, 16, 15, 34).getTime()).not.toBe(Date.UTC(2026, 10, 29, 16, 15, 34));
    expect(timeMs('2026-11-29T16:15:34', { form: 'utc' })).toBe(Date.UTC(2026, 10, 29, 16, 15, 34));
    process.env.TZ = 'Asia/Tokyo';
    expect(timeMs('2026-11-29T16:15:34', { form: 'utc' })).toBe(Date.UTC(2026, 10, 29, 16, 15, 34));
  });
});
