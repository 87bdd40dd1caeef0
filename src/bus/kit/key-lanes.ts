/** An event waiting for delivery, as the key-lane dispatcher sees it. */
export interface LaneItem {
  /** Ordering key (`partitionkey`); items without one never wait for each other. */
  readonly key: string | undefined;
  /** Not handed out before this instant (ms since the epoch): a delayed subscription or a retry. */
  readyAt: number;
}

/** Per item of a unit: `undefined` (or missing) when it is finished, or the instant (ms) it may run again. */
export type UnitResult = readonly (number | undefined)[];

export interface KeyLaneOptions<T extends LaneItem> {
  /** `key`: one unit at a time per key, in push order; `none`: every item on its own. */
  readonly ordering: 'key' | 'none';
  /** Units running at once. */
  readonly concurrency: number;
  /** Most items in one unit; 1 hands out single items. (Default: 1) */
  readonly maxBatchSize?: number;
  /** How long a unit smaller than `maxBatchSize` waits for more items once one is ready. (Default: 0) */
  readonly maxWaitMs?: number;
  /**
   * Runs one unit. An item that comes back with a time stays at the head of its key until then,
   * holding back the key's later items (with `ordering: 'none'` only itself waits).
   * A rejected promise counts as "run every item again at once".
   */
  readonly run: (items: T[]) => Promise<UnitResult>;
  /** The clock. (Default: Date.now) */
  readonly now?: () => number;
}

export interface KeyLaneDispatcher<T extends LaneItem> {
  /** Adds an item behind the others of its key. */
  push(item: T): void;
  /** Changes how many units may run at once (consumers attached or detached). */
  setConcurrency(concurrency: number): void;
  /** Units running now. */
  readonly running: number;
  /** Items held: waiting, running or waiting for a retry. */
  readonly size: number;
  /**
   * Items that could be handed out now (in lanes ready to run): what a reader keeps topped up, so
   * it reads ahead no further than the handlers need while waiting keys may hold many more.
   */
  readonly ready: number;
  /** Resolves once no unit is running. */
  idle(): Promise<void>;
  /** Hands out nothing more and drops every held item; running units finish (see `idle`). */
  close(): void;
}

type LaneState = 'idle' | 'runnable' | 'waiting' | 'busy';

class Lane<T> {
  items: T[] = [];
  head = 0;
  state: LaneState = 'idle';
  constructor(public key: string | undefined) {}
  get length(): number {
    return this.items.length - this.head;
  }
}

/** A min-heap of lanes by the `readyAt` of their head item. */
class LaneHeap<T extends LaneItem> {
  private readonly heap: Lane<T>[] = [];
  get size(): number {
    return this.heap.length;
  }
  private at(i: number): number {
    const lane = this.heap[i];
    return lane.items[lane.head].readyAt;
  }
  peek(): Lane<T> | undefined {
    return this.heap[0];
  }
  push(lane: Lane<T>): void {
    const heap = this.heap;
    heap.push(lane);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.at(parent) <= this.at(i)) break;
      [heap[parent], heap[i]] = [heap[i], heap[parent]];
      i = parent;
    }
  }
  pop(): Lane<T> | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let min = i;
        if (l < heap.length && this.at(l) < this.at(min)) min = l;
        if (r < heap.length && this.at(r) < this.at(min)) min = r;
        if (min === i) break;
        [heap[min], heap[i]] = [heap[i], heap[min]];
        i = min;
      }
    }
    return top;
  }
  clear(): void {
    this.heap.length = 0;
  }
}

/**
 * The partitioner every engine shares (Watermill's key partitioner, Kafka's per-partition order):
 * events of one key are handed out one unit at a time in push order, different keys run in parallel
 * up to `concurrency`, and an item that must wait (delay, retry) holds back its key only.
 */
export function createKeyLaneDispatcher<T extends LaneItem>(options: KeyLaneOptions<T>): KeyLaneDispatcher<T> {
  const now = options.now ?? Date.now;
  const maxBatchSize = Math.max(1, options.maxBatchSize ?? 1);
  const maxWaitMs = options.maxWaitMs ?? 0;
  const byKey = new Map<string, Lane<T>>();
  const waiting = new LaneHeap<T>();
  let runnable: Lane<T>[] = [];
  let runnableHead = 0;
  /** Items in runnable lanes: whether a batch is full enough to go without waiting. */
  let readyItems = 0;
  let concurrency = options.concurrency;
  let running = 0;
  let size = 0;
  let closed = false;
  let pumpQueued = false;
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Infinity;
  let batchWaitUntil: number | undefined;
  let batchTimer: NodeJS.Timeout | undefined;
  let idleWaiters: (() => void)[] = [];
  const spare: Lane<T>[] = [];

  const makeRunnable = (lane: Lane<T>) => {
    lane.state = 'runnable';
    runnable.push(lane);
    readyItems += lane.length;
  };

  const enqueue = (lane: Lane<T>) => {
    if (lane.items[lane.head].readyAt <= now()) makeRunnable(lane);
    else {
      lane.state = 'waiting';
      waiting.push(lane);
      arm();
    }
  };

  const arm = () => {
    const next = waiting.peek();
    if (!next || closed) return;
    const at = next.items[next.head].readyAt;
    if (timer && at >= timerAt) return;
    if (timer) clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(wake, Math.max(0, at - now()));
    timer.unref();
  };

  const wake = () => {
    timer = undefined;
    timerAt = Infinity;
    const t = now();
    for (let lane = waiting.peek(); lane && lane.items[lane.head].readyAt <= t; lane = waiting.peek()) {
      waiting.pop();
      makeRunnable(lane);
    }
    arm();
    pump();
  };

  const schedulePump = () => {
    if (pumpQueued) return;
    pumpQueued = true;
    queueMicrotask(() => {
      pumpQueued = false;
      pump();
    });
  };

  /** Whether a batch smaller than maxBatchSize should still wait for more items. */
  const holdBatch = (): boolean => {
    if (maxBatchSize === 1 || maxWaitMs === 0 || readyItems >= maxBatchSize) return false;
    const t = now();
    batchWaitUntil ??= t + maxWaitMs;
    if (t >= batchWaitUntil) return false;
    if (!batchTimer) {
      batchTimer = setTimeout(() => {
        batchTimer = undefined;
        pump();
      }, batchWaitUntil - t);
      batchTimer.unref();
    }
    return true;
  };

  const pump = () => {
    while (!closed && running < concurrency && runnableHead < runnable.length) {
      if (holdBatch()) return;
      batchWaitUntil = undefined;
      if (maxBatchSize === 1) void startSingle(runnable[runnableHead++]);
      else void startBatch();
      if (runnableHead > 1024 && runnableHead * 2 > runnable.length) {
        runnable = runnable.slice(runnableHead);
        runnableHead = 0;
      }
    }
  };

  /** Runs a unit; a rejection means "every item again at once". */
  const runUnit = async (items: T[]): Promise<UnitResult> => {
    running++;
    try {
      return await options.run(items);
    } catch {
      const t = now();
      return items.map(() => t);
    }
  };

  // Async functions rather than `then` callbacks: no closure per unit on the hot path.
  /** The common case, one item per unit, without the bookkeeping of batches. */
  const startSingle = async (lane: Lane<T>) => {
    readyItems -= lane.length;
    lane.state = 'busy';
    const item = lane.items[lane.head];
    const results = await runUnit([item]);
    settleSingle(lane, item, results[0]);
  };

  const settleSingle = (lane: Lane<T>, item: T, result: number | undefined) => {
    running--;
    if (!closed) {
      if (result === undefined) {
        lane.head++;
        size--;
      } else item.readyAt = result;
      release(lane);
      pump();
    }
    notifyIdle();
  };

  const startBatch = async () => {
    const lanes: Lane<T>[] = [];
    const taken: number[] = [];
    const items: T[] = [];
    const t = now();
    while (items.length < maxBatchSize && runnableHead < runnable.length) {
      const lane = runnable[runnableHead++];
      readyItems -= lane.length;
      lane.state = 'busy';
      // A lane gives its consecutive ready items, so a key is never in two units at once.
      let i = lane.head;
      while (i < lane.items.length && items.length < maxBatchSize && (i === lane.head || lane.items[i].readyAt <= t)) items.push(lane.items[i++]);
      lanes.push(lane);
      taken.push(i - lane.head);
    }
    settleBatch(lanes, taken, items, await runUnit(items));
  };

  const settleBatch = (lanes: Lane<T>[], taken: number[], items: T[], results: UnitResult) => {
    running--;
    if (!closed) {
      let k = 0;
      for (let l = 0; l < lanes.length; l++) {
        const lane = lanes[l];
        // The lane's items of this unit are its first `taken[l]`; those to run again stay in front.
        const kept: T[] = [];
        for (let i = 0; i < taken[l]; i++, k++) {
          const result = results[k];
          if (result === undefined) size--;
          else {
            items[k].readyAt = result;
            kept.push(items[k]);
          }
        }
        const rest = lane.head + taken[l];
        if (kept.length === 0) lane.head = rest;
        else {
          lane.items = kept.concat(lane.items.slice(rest));
          lane.head = 0;
        }
        release(lane);
      }
      pump();
    }
    notifyIdle();
  };

  /** A lane whose unit finished: queued again, or forgotten (and kept for reuse) when empty. */
  const release = (lane: Lane<T>) => {
    if (lane.head > 64 && lane.head * 2 > lane.items.length) {
      lane.items = lane.items.slice(lane.head);
      lane.head = 0;
    }
    if (lane.length > 0) {
      enqueue(lane);
      return;
    }
    lane.state = 'idle';
    lane.items.length = 0;
    lane.head = 0;
    if (lane.key !== undefined && byKey.get(lane.key) === lane) byKey.delete(lane.key);
    if (spare.length < 1024) spare.push(lane);
  };

  const notifyIdle = () => {
    if (running === 0 && idleWaiters.length > 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  };

  /** An empty lane for `key`, reused when one is spare. */
  const laneFor = (key: string | undefined): Lane<T> => {
    const lane = spare.pop();
    if (!lane) return new Lane<T>(key);
    lane.key = key;
    return lane;
  };

  return {
    push(item) {
      if (closed) return;
      size++;
      let lane: Lane<T> | undefined;
      if (options.ordering === 'key' && item.key !== undefined) {
        lane = byKey.get(item.key);
        if (!lane) {
          lane = laneFor(item.key);
          byKey.set(item.key, lane);
        }
      } else {
        lane = laneFor(undefined);
      }
      lane.items.push(item);
      if (lane.state === 'idle') {
        enqueue(lane);
        schedulePump();
      } else if (lane.state === 'runnable') {
        readyItems++;
        schedulePump();
      }
    },
    setConcurrency(value) {
      concurrency = value;
      schedulePump();
    },
    get running() {
      return running;
    },
    get size() {
      return size;
    },
    get ready() {
      return readyItems;
    },
    idle() {
      return running === 0 ? Promise.resolve() : new Promise((resolve) => idleWaiters.push(resolve));
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      if (batchTimer) clearTimeout(batchTimer);
      timer = batchTimer = undefined;
      byKey.clear();
      waiting.clear();
      runnable = [];
      runnableHead = 0;
      readyItems = 0;
      size = 0;
    },
  };
}
