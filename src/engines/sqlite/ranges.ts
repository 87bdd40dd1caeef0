/**
 * Sets of sequences stored compactly as sorted, inclusive `[first, last]` ranges: the events a
 * subscription finished above its position are mostly consecutive runs.
 */
export type Ranges = [number, number][];

/** Ranges of the given sequences (any order, duplicates allowed). */
export function toRanges(sequences: Iterable<number>): Ranges {
  const sorted = [...sequences].sort((a, b) => a - b);
  const ranges: Ranges = [];
  for (const sequence of sorted) {
    const last = ranges[ranges.length - 1];
    if (last && sequence <= last[1] + 1) last[1] = Math.max(last[1], sequence);
    else ranges.push([sequence, sequence]);
  }
  return ranges;
}

/** Every sequence of the ranges. */
export function fromRanges(ranges: Ranges): Set<number> {
  const set = new Set<number>();
  for (const [first, last] of ranges) for (let s = first; s <= last; s++) set.add(s);
  return set;
}

/** Parses stored ranges, tolerating an empty or malformed value as "none". */
export function parseRanges(text: string | null | undefined): Ranges {
  if (!text) return [];
  try {
    const value: unknown = JSON.parse(text);
    if (!Array.isArray(value)) return [];
    return value.filter((r): r is [number, number] => Array.isArray(r) && r.length === 2 && Number.isInteger(r[0]) && Number.isInteger(r[1]) && r[0] <= r[1]);
  } catch {
    return [];
  }
}
