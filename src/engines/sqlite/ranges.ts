/**
 * Sets of sequences stored compactly as sorted, inclusive `[first, last]` ranges: the events a
 * subscription finished above its position are mostly consecutive runs.
 */
export type Ranges = [number, number][];

/** Ranges of two ascending sequences of sequences, merged in one pass. */
export function mergeToRanges(a: Iterable<number>, b: Iterable<number>): Ranges {
  const ranges: Ranges = [];
  const add = (sequence: number) => {
    const last = ranges[ranges.length - 1];
    if (last && sequence <= last[1] + 1) last[1] = Math.max(last[1], sequence);
    else ranges.push([sequence, sequence]);
  };
  const left = a[Symbol.iterator]();
  const right = b[Symbol.iterator]();
  let x = left.next();
  let y = right.next();
  while (!x.done || !y.done) {
    if (y.done || (!x.done && x.value <= y.value)) {
      add(x.value as number);
      x = left.next();
    } else {
      add(y.value);
      y = right.next();
    }
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
