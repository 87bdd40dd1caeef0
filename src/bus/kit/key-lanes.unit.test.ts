import { describe, expect, it } from 'vitest';
import { createKeyLaneDispatcher, type LaneItem, type UnitResult } from './key-lanes.ts';

interface Item extends LaneItem {
  readonly n: number;
}

const item = (n: number, key: string | undefined, readyAt = 0): Item => ({ n, key, readyAt });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs units with a handler, recording what ran and the most units and keys running at once. */
function recorder(handle: (items: Item[]) => Promise<UnitResult> | UnitResult = () => []) {
  const units: number[][] = [];
  const runningKeys = new Map<string, number>();
  let running = 0;
  let maxRunning = 0;
  let maxPerKey = 0;
  const run = async (items: Item[]) => {
    units.push(items.map((i) => i.n));
    running++;
    maxRunning = Math.max(maxRunning, running);
    const keys = new Set(items.map((i) => i.key));
    for (const key of keys) {
      if (key === undefined) continue;
      const count = (runningKeys.get(key) ?? 0) + 1;
      runningKeys.set(key, count);
      maxPerKey = Math.max(maxPerKey, count);
    }
    try {
      await sleep(5);
      return await handle(items);
    } finally {
      running--;
      for (const key of keys) if (key !== undefined) runningKeys.set(key, runningKeys.get(key)! - 1);
    }
  };
  return { run, units, stats: () => ({ maxRunning, maxPerKey }) };
}

async function drained(dispatcher: { size: number }, timeoutMs = 2_000) {
  const until = Date.now() + timeoutMs;
  while (dispatcher.size > 0) {
    if (Date.now() > until) throw new Error(`still ${dispatcher.size} items held`);
    await sleep(2);
  }
}

describe('key-lane dispatcher', () => {
  it('runs one key at a time in push order and different keys in parallel', async () => {
    const r = recorder();
    const dispatcher = createKeyLaneDispatcher<Item>({ ordering: 'key', concurrency: 4, run: r.run });
    for (let n = 0; n < 12; n++) dispatcher.push(item(n, `k${n % 3}`));
    await drained(dispatcher);
    const order = r.units.flat();
    for (const k of [0, 1, 2]) expect(order.filter((n) => n % 3 === k)).toEqual([0, 1, 2, 3].map((i) => i * 3 + k));
    expect(r.stats().maxPerKey).toBe(1);
    expect(r.stats().maxRunning).toBe(3);
  });

  it('never runs more units than the concurrency', async () => {
    const r = recorder();
    const dispatcher = createKeyLaneDispatcher<Item>({ ordering: 'key', concurrency: 2, run: r.run });
    for (let n = 0; n < 10; n++) dispatcher.push(item(n, `k${n}`));
    await drained(dispatcher);
    expect(r.stats().maxRunning).toBe(2);
    expect(r.units.flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('holds back the key of an item waiting for its retry, and only that key', async () => {
    let failed = false;
    const r = recorder((items) => {
      if (items[0].n === 0 && !failed) {
        failed = true;
        return [Date.now() + 60];
      }
      return [];
    });
    const dispatcher = createKeyLaneDispatcher<Item>({ ordering: 'key', concurrency: 2, run: r.run });
    dispatcher.push(item(0, 'a'));
    dispatcher.push(item(1, 'a'));
    dispatcher.push(item(2, 'b'));
    dispatcher.push(item(3, 'b'));
    await drained(dispatcher);
    const order = r.units.flat();
    expect(order.filter((n) => n < 2)).toEqual([0, 0, 1]);
    // Key b went ahead while a waited for its retry.
    expect(order.indexOf(3)).toBeLessThan(order.lastIndexOf(0));
  });

  it('with ordering none runs items of one key side by side, and a retry holds back only itself', async () => {
    let failed = false;
    const r = recorder((items) => {
      if (items[0].n === 0 && !failed) {
        failed = true;
        return [Date.now() + 40];
      }
      return [];
    });
    const dispatcher = createKeyLaneDispatcher<Item>({ ordering: 'none', concurrency: 4, run: r.run });
    for (let n = 0; n < 6; n++) dispatcher.push(item(n, 'same'));
    await drained(dispatcher);
    expect(r.stats().maxPerKey).toBeGreaterThan(1);
    expect(r.units.flat().at(-1)).toBe(0);
  });

  it('does not hand out an item before its readyAt', async () => {
    const started: number[] = [];
    const dispatcher = createKeyLaneDispatcher<Item>({
      ordering: 'key',
      concurrency: 2,
      run: async () => {
        started.push(Date.now());
        return [];
      },
    });
    const at = Date.now() + 50;
    dispatcher.push(item(0, 'a', at));
    dispatcher.push(item(1, undefined, at + 20));
    await drained(dispatcher);
    expect(started[0]).toBeGreaterThanOrEqual(at);
    expect(started[1]).toBeGreaterThanOrEqual(at + 20);
  });

  it('batches consecutive ready items of several keys, keeping each key in one unit', async () => {
    const r = recorder();
    const dispatcher = createKeyLaneDispatcher<Item>({ ordering: 'key', concurrency: 2, maxBatchSize: 4, run: r.run });
    for (let n = 0; n < 10; n++) dispatcher.push(item(n, n < 6 ? 'a' : `k${n}`));
    await drained(dispatcher);
    expect(r.units.every((u) => u.length <= 4)).toBe(true);
    expect(r.units.flat().filter((n) => n < 6)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(r.stats().maxPerKey).toBe(1);
    expect(r.units[0]).toEqual([0, 1, 2, 3]);
  });

  it('waits up to maxWaitMs to fill a batch', async () => {
    const r = recorder();
    const dispatcher = createKeyLaneDispatcher<Item>({ ordering: 'none', concurrency: 1, maxBatchSize: 3, maxWaitMs: 40, run: r.run });
    dispatcher.push(item(0, undefined));
    await sleep(10);
    dispatcher.push(item(1, undefined));
    await sleep(5);
    expect(r.units).toEqual([]);
    dispatcher.push(item(2, undefined));
    dispatcher.push(item(3, undefined));
    await drained(dispatcher);
    expect(r.units).toEqual([[0, 1, 2], [3]]);
  });

  it('counts as ready only items that could be handed out now: not running, delayed or behind a busy key', async () => {
    let release: () => void = () => undefined;
    const dispatcher = createKeyLaneDispatcher<Item>({
      ordering: 'key',
      concurrency: 1,
      run: () => new Promise<UnitResult>((resolve) => (release = () => resolve([]))),
    });
    dispatcher.push(item(0, 'a'));
    dispatcher.push(item(1, 'a'));
    dispatcher.push(item(2, 'b'));
    dispatcher.push(item(3, 'c', Date.now() + 10_000));
    expect({ size: dispatcher.size, ready: dispatcher.ready }).toEqual({ size: 4, ready: 3 });
    await sleep(0);
    // Key a runs item 0, so its item 1 waits too; b is ready; c is delayed.
    expect({ size: dispatcher.size, ready: dispatcher.ready, running: dispatcher.running }).toEqual({ size: 4, ready: 1, running: 1 });
    release();
    await sleep(0);
    // Item 0 done; the one unit slot went to the next ready lane, a (item 1) or b.
    expect({ size: dispatcher.size, ready: dispatcher.ready, running: dispatcher.running }).toEqual({ size: 3, ready: 1, running: 1 });
    dispatcher.close();
    expect(dispatcher.ready).toBe(0);
  });

  it('reruns every item of a unit whose run rejects, and drops everything on close', async () => {
    let calls = 0;
    const dispatcher = createKeyLaneDispatcher<Item>({
      ordering: 'key',
      concurrency: 1,
      run: async () => {
        if (++calls === 1) throw new Error('boom');
        return [];
      },
    });
    dispatcher.push(item(0, 'a'));
    await drained(dispatcher);
    expect(calls).toBe(2);
    dispatcher.push(item(1, 'a', Date.now() + 10_000));
    expect(dispatcher.size).toBe(1);
    dispatcher.close();
    expect(dispatcher.size).toBe(0);
    await dispatcher.idle();
  });
});
