import type { TypeSelection } from '../../bus/kit/index.ts';

/** How much the index keeps. */
export interface TypeIndexLimits {
  /**
   * Sequences kept over all types; past it the longest list drops its oldest quarter, so rare types
   * keep a longer history than busy ones. (Default: 1 000 000, 8 MB, at most about four times that
   * with the lists' spare room)
   */
  readonly entries: number;
  /**
   * Distinct types; one more and the index starts again from the head, as if just opened (a log with
   * this many types is unusual). (Default: 4096)
   */
  readonly types: number;
}

/** A subscription lagging further behind than these hold is counted by SQL, as before. */
const DEFAULT_LIMITS: TypeIndexLimits = { entries: 1_000_000, types: 4096 };
const INITIAL_CAPACITY = 16;

/** One type's stored sequences after `from`, ascending, in `list[start..end)`. */
interface Sequences {
  list: Float64Array;
  start: number;
  end: number;
  /** Every event of the type after this sequence is in the list. */
  from: number;
}

/** Index of the first sequence of `[start, end)` greater than `after` (`end` when none). */
function firstAfter(list: Float64Array, start: number, end: number, after: number): number {
  let low = start;
  let high = end;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (list[middle] > after) high = middle;
    else low = middle + 1;
  }
  return low;
}

/**
 * SQLite's `substr(type, 1, n) = prefix` (event-reader.ts) counts characters and stops at a NUL, where
 * `startsWith` counts UTF-16 units: the two agree for prefixes of ASCII without NUL (every pattern the
 * grammar allows). Other prefixes are left to SQL.
 */
function isPlain(prefix: string): boolean {
  for (let i = 0; i < prefix.length; i++) {
    const code = prefix.charCodeAt(i);
    if (code === 0 || code > 0x7f) return false;
  }
  return true;
}

/**
 * The sequences of every event stored since the engine opened, per type, so that "how many
 * matching events after position p" is a few binary searches instead of a scan of the rows after p
 * (the lag of `GET /v1/subscriptions`, polled while subscriptions lag thousands of events behind).
 * The log writer adds each event after its commit; sequences only grow (a rolled-back batch leaves
 * no gap either: SQLite gives its rowids to the next rows). Counts it cannot give exactly — a
 * position before what it holds, a prefix it cannot compare like SQLite — are `undefined`, and the
 * caller asks SQL.
 */
export class TypeIndex {
  private readonly types = new Map<string, Sequences>();
  /** Types absent from `types` have no event after this sequence. */
  private from: number;
  /** The last sequence added: the head. */
  private last: number;
  private entries = 0;
  /** Off for good: a sequence came out of order, so nothing it holds can be trusted. */
  private off = false;

  /** An index of the events after `head`, the last sequence stored so far. */
  constructor(
    head: number,
    private readonly limits: TypeIndexLimits = DEFAULT_LIMITS,
  ) {
    this.from = head;
    this.last = head;
  }

  /** Records a committed event; call in sequence order. */
  add(type: string, sequence: number): void {
    if (this.off) return;
    if (!(sequence > this.last)) {
      this.off = true;
      this.types.clear();
      return;
    }
    let sequences = this.types.get(type);
    if (!sequences) {
      if (this.types.size >= this.limits.types) {
        this.types.clear();
        this.entries = 0;
        this.from = this.last;
      }
      sequences = { list: new Float64Array(INITIAL_CAPACITY), start: 0, end: 0, from: this.from };
      this.types.set(type, sequences);
    }
    this.last = sequence;
    if (sequences.end === sequences.list.length) {
      const live = sequences.end - sequences.start;
      // Room left by dropped entries is reused before the list grows.
      if (live <= sequences.list.length / 2) sequences.list.copyWithin(0, sequences.start, sequences.end);
      else sequences.list = resized(sequences, sequences.list.length * 2);
      sequences.start = 0;
      sequences.end = live;
    }
    sequences.list[sequences.end++] = sequence;
    if (++this.entries > this.limits.entries) this.dropOldest();
  }

  /** Events of the selected types after `after`, or `undefined` when the index cannot tell exactly. */
  count(selection: TypeSelection, after: number): number | undefined {
    if (this.off || !(after >= this.from)) return undefined;
    const { exact, prefixes } = selection;
    if (!selection.all && !prefixes.every(isPlain)) return undefined;
    // Nothing selected is a filter SQL would refuse; let it.
    if (!selection.all && exact.length === 0 && prefixes.length === 0) return undefined;
    if (after >= this.last) return 0;
    let total = 0;
    if (selection.all || prefixes.length > 0) {
      for (const [type, sequences] of this.types) {
        if (!selection.all && !exact.includes(type) && !prefixes.some((prefix) => type.startsWith(prefix))) continue;
        if (after < sequences.from) return undefined;
        total += sequences.end - firstAfter(sequences.list, sequences.start, sequences.end, after);
      }
      return total;
    }
    for (const type of exact) {
      const sequences = this.types.get(type);
      if (!sequences) continue;
      if (after < sequences.from) return undefined;
      total += sequences.end - firstAfter(sequences.list, sequences.start, sequences.end, after);
    }
    return total;
  }

  /** Over the limit: the longest list (most of the memory) forgets its oldest quarter. */
  private dropOldest(): void {
    let longest: Sequences | undefined;
    for (const sequences of this.types.values()) {
      if (!longest || sequences.end - sequences.start > longest.end - longest.start) longest = sequences;
    }
    if (!longest) return;
    const live = longest.end - longest.start;
    const dropped = Math.max(1, Math.ceil(live / 4));
    longest.from = longest.list[longest.start + dropped - 1];
    longest.start += dropped;
    this.entries -= dropped;
    // A list that shrank this way gives back its memory, so many types taking turns stay bounded.
    const left = live - dropped;
    if (longest.list.length > INITIAL_CAPACITY && left <= longest.list.length / 4) {
      longest.list = resized(longest, Math.max(INITIAL_CAPACITY, longest.list.length / 2));
      longest.start = 0;
      longest.end = left;
    }
  }
}

/** A list of `capacity` holding the live entries of `sequences` from index 0. */
function resized(sequences: Sequences, capacity: number): Float64Array {
  const list = new Float64Array(capacity);
  list.set(sequences.list.subarray(sequences.start, sequences.end));
  return list;
}
