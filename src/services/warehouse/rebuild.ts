/**
 * `flamingo warehouse rebuild`: every event of the log landed again into a fresh copy of `events`,
 * which replaces the old one at the end (`RebuildTarget`): queries keep answering from the old table
 * meanwhile, landing goes on, and a crash half-way leaves the old table whole (the copy is dropped
 * at the next start). Ids are unique in the log, so the copy is bulk-loaded without a key check and
 * the key is built once at the end.
 */
import type { Bus, DeliveredEvent } from '../../bus/index.ts';
import type { CloudEvent } from '../../contracts/index.ts';
import type { EventRow } from './rows.ts';
import type { WarehouseStore } from './store.ts';

/** How far a rebuild is. */
export interface RebuildProgress {
  /** Events read from the log and handed to the store so far (all landed once the rebuild resolves). */
  readonly done: number;
  /** The log's last sequence when the rebuild started (events to do, about). */
  readonly total: number;
  /** Events per second so far. */
  readonly rate: number;
  /** Seconds since it started. */
  readonly elapsedSeconds: number;
}

export interface RebuildOptions {
  readonly store: WarehouseStore;
  readonly bus: Pick<Bus, 'read' | 'engine'>;
  readonly toRow: (event: CloudEvent) => EventRow;
  /** Called after each chunk landed. */
  readonly onProgress?: (progress: RebuildProgress) => void;
  /** Events appended at once. (Default: 20 000) */
  readonly chunkSize?: number;
}

/** The bus reads at most this many events a call. */
const PAGE = 1_000;

/** Reads the log after `after` until `until` (or its end), `PAGE` events a call. */
async function* readLog(bus: Pick<Bus, 'read'>, after: number, until = Infinity): AsyncGenerator<DeliveredEvent[]> {
  let position = after;
  while (position < until) {
    const page = (await bus.read({ afterSequence: position, limit: PAGE })) as DeliveredEvent[];
    if (page.length === 0) return;
    position = page[page.length - 1]!.sequence;
    yield page;
  }
}

/** Rebuilds the warehouse from the log; resolves to the final progress. */
export async function rebuildWarehouse(options: RebuildOptions): Promise<RebuildProgress> {
  const { store, bus, toRow, onProgress } = options;
  const chunkSize = options.chunkSize ?? 20_000;
  const started = performance.now();
  const total = await bus.engine.head();
  const target = await store.startRebuild();
  let done = 0;
  let last = 0;
  const progress = (): RebuildProgress => {
    const elapsedSeconds = (performance.now() - started) / 1000;
    return { done, total: Math.max(total, done), rate: elapsedSeconds > 0 ? done / elapsedSeconds : 0, elapsedSeconds };
  };
  // One chunk is being loaded while the next is read from the log: the database works on threads
  // of its own, so reading goes on meanwhile.
  let loading: Promise<void> = Promise.resolve();
  const load = async (rows: EventRow[]) => {
    await loading;
    loading = target.append(rows).then(() => {
      done += rows.length;
      onProgress?.(progress());
    });
    // A failed load is reported by the next `await loading`; keep it from being unhandled meanwhile.
    loading.catch(() => undefined);
  };
  try {
    let chunk: EventRow[] = [];
    for await (const page of readLog(bus, 0, total)) {
      for (const event of page) chunk.push(toRow(event));
      last = page[page.length - 1]!.sequence;
      if (chunk.length >= chunkSize) {
        await load(chunk);
        chunk = [];
      }
    }
    if (chunk.length > 0) await load(chunk);
    await loading;
    await target.finish(async () => {
      const rest: EventRow[] = [];
      for await (const page of readLog(bus, last)) for (const event of page) rest.push(toRow(event));
      done += rest.length;
      return rest;
    });
  } catch (error) {
    await target.abandon().catch(() => undefined);
    throw error;
  }
  const final = progress();
  onProgress?.(final);
  return final;
}
