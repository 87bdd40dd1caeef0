import { describe, expect, it } from 'vitest';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { typeSelection } from '../../bus/kit/index.ts';
import { TypeIndex } from './type-index.ts';

/** Numbers in [0, 1) from a seeded generator, so a failing run can be repeated. */
function random(seed: number): () => number {
  const generator = xoroshiro128plus(seed);
  return () => uniformFloat64(generator);
}

const TYPES = ['order.placed', 'order.cancelled', 'order.line.added', 'orders.archived', 'order', 'payment.failed', 'payment.succeeded', 'stock.low'];
const PATTERNS = [['*'], ['order.placed'], ['order.*'], ['order.*', 'order.placed'], ['orders.*', 'payment.failed'], ['order'], ['order.line.*'], ['nothing.here'], ['payment.*', 'stock.low']];

/** What the log holds after `after` for `patterns`, counted one by one. */
function counted(log: readonly { type: string; sequence: number }[], patterns: readonly string[], after: number): number {
  const { all, exact, prefixes } = typeSelection(patterns);
  return log.filter((e) => e.sequence > after && (all || exact.includes(e.type) || prefixes.some((p) => e.type.startsWith(p)))).length;
}

describe('TypeIndex', () => {
  it('counts exactly every selection after every position from its start, with gaps between sequences', () => {
    const next = random(1);
    const start = 40;
    const index = new TypeIndex(start);
    const log: { type: string; sequence: number }[] = [];
    let head = start;
    for (let i = 0; i < 3000; i++) {
      head += 1 + (next() < 0.1 ? Math.floor(next() * 5) : 0);
      const type = TYPES[Math.floor(next() * next() * TYPES.length)];
      index.add(type, head);
      log.push({ type, sequence: head });
      if (i % 50 !== 0) continue;
      for (const patterns of PATTERNS) {
        for (const after of [start, start + 1, Math.floor(start + next() * (head - start)), head - 1, head, head + 10]) {
          expect(index.count(typeSelection(patterns), after), `${patterns.join()} after ${after}`).toBe(counted(log, patterns, after));
        }
        // Before its start it cannot know what the log held.
        expect(index.count(typeSelection(patterns), start - 1)).toBeUndefined();
      }
    }
  });

  it('keeps its limits: past them a count is either exact or undefined, and exact again once the position is recent', () => {
    const next = random(2);
    const index = new TypeIndex(0, { entries: 200, types: 6 });
    const log: { type: string; sequence: number }[] = [];
    let exact = 0;
    for (let sequence = 1; sequence <= 5000; sequence++) {
      // Mostly the first types (so the longest list is the one trimmed), now and then one of many others.
      const type = next() < 0.02 ? `rare.t${Math.floor(next() * 12)}` : TYPES[Math.floor(next() * next() * 4)];
      index.add(type, sequence);
      log.push({ type, sequence });
      if (sequence % 25 !== 0) continue;
      for (const patterns of [...PATTERNS, ['rare.*'], ['rare.t3', 'order.placed']]) {
        let known = false;
        for (const after of [0, sequence - 400, sequence - 150, sequence - 40, sequence - 5, sequence].filter((a) => a >= 0)) {
          const count = index.count(typeSelection(patterns), after);
          if (count === undefined) {
            // What it cannot tell after a position, it cannot tell after an earlier one either.
            expect(known, `${patterns.join()} after ${after}`).toBe(false);
            continue;
          }
          known = true;
          exact++;
          expect(count, `${patterns.join()} after ${after}`).toBe(counted(log, patterns, after));
        }
        expect(index.count(typeSelection(patterns), sequence)).toBe(0);
      }
    }
    expect(exact).toBeGreaterThan(5000);
  });

  it('starts again from the head when a type past the limit comes', () => {
    const index = new TypeIndex(0, { entries: 100, types: 2 });
    index.add('a.x', 1);
    index.add('b.x', 2);
    expect(index.count(typeSelection(['*']), 0)).toBe(2);
    index.add('c.x', 3);
    expect(index.count(typeSelection(['*']), 1)).toBeUndefined();
    expect(index.count(typeSelection(['a.x']), 0)).toBeUndefined();
    expect(index.count(typeSelection(['*']), 2)).toBe(1);
    expect(index.count(typeSelection(['a.x']), 2)).toBe(0);
    expect(index.count(typeSelection(['c.*']), 2)).toBe(1);
  });

  it('turns itself off for good when a sequence comes out of order', () => {
    const index = new TypeIndex(10);
    index.add('a.x', 11);
    index.add('a.x', 11);
    index.add('a.x', 12);
    expect(index.count(typeSelection(['a.x']), 10)).toBeUndefined();
    expect(index.count(typeSelection(['*']), 12)).toBeUndefined();
  });

  it('leaves to SQL the prefixes it cannot compare as SQLite does, and an empty selection', () => {
    const index = new TypeIndex(0);
    index.add('ö.x', 1);
    index.add('😀.x', 2);
    index.add('a\u0000b.x', 3);
    expect(index.count(typeSelection(['ö.*']), 0)).toBeUndefined();
    expect(index.count(typeSelection(['😀.*']), 0)).toBeUndefined();
    expect(index.count(typeSelection(['a\u0000b.*']), 0)).toBeUndefined();
    expect(index.count(typeSelection([]), 0)).toBeUndefined();
    // Exact types compare as SQLite compares them, byte for byte.
    expect(index.count(typeSelection(['ö.x', '😀.x', 'a\u0000b.x']), 0)).toBe(3);
    expect(index.count(typeSelection(['a.*']), 0)).toBe(0);
  });
});
