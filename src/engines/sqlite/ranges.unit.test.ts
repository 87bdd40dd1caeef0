import { describe, expect, it } from 'vitest';
import { fromRanges, mergeToRanges, parseRanges } from './ranges.ts';

describe('sequence ranges', () => {
  it('merges two ascending lists into inclusive ranges', () => {
    expect(mergeToRanges([3, 4, 9], [5, 10, 11, 20])).toEqual([
      [3, 5],
      [9, 11],
      [20, 20],
    ]);
    expect(mergeToRanges([], [])).toEqual([]);
    expect(mergeToRanges([1, 2], [2, 3])).toEqual([[1, 3]]);
  });

  it('expands ranges back into their sequences, in order', () => {
    expect([...fromRanges([[3, 5], [9, 9]])]).toEqual([3, 4, 5, 9]);
  });

  it('reads stored ranges, treating damage as none', () => {
    expect(parseRanges('[[1,2],[5,7]]')).toEqual([
      [1, 2],
      [5, 7],
    ]);
    expect(parseRanges('')).toEqual([]);
    expect(parseRanges('{')).toEqual([]);
    expect(parseRanges('[[2,1],[1,"x"],[4,4]]')).toEqual([[4, 4]]);
  });
});
