import { describe, expect, it } from 'vitest';
import { parseDuration, parsePositive, randomSource } from './options.ts';
import { percentile } from './stats.ts';

describe('simulate options', () => {
  it('reads durations with units, plain numbers as seconds, and names the option when wrong', () => {
    expect(parseDuration('--duration', '30s')).toBe(30_000);
    expect(parseDuration('--duration', '2m')).toBe(120_000);
    expect(parseDuration('--duration', '250ms')).toBe(250);
    expect(parseDuration('--duration', '1.5')).toBe(1500);
    expect(() => parseDuration('--duration', 'soon')).toThrow(/--duration/);
    expect(() => parseDuration('--duration', '0s')).toThrow(/--duration/);
  });

  it('reads positive numbers', () => {
    expect(parsePositive('--rate', '2.5')).toBe(2.5);
    expect(() => parsePositive('--rate', '-1')).toThrow(/--rate/);
    expect(() => parsePositive('--products', '1.5', { integer: true })).toThrow(/whole/);
  });

  it('repeats a seeded run', () => {
    const a = randomSource(42);
    const b = randomSource(42);
    const draws = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(draws);
    expect(draws.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it('takes nearest-rank percentiles', () => {
    expect(percentile([], 50)).toBeUndefined();
    expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3);
    expect(percentile([5, 1, 3, 2, 4], 100)).toBe(5);
    expect(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 99)).toBe(99);
  });
});
