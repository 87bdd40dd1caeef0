/**
 * Section 6: the warehouse on DuckDB (issue 11).
 * - Rebuild: every event of a pre-filled log (the same 1 KB `order.placed` events as the other
 *   sections) read from the bus, redacted, turned into rows and bulk-loaded (narrow rows staged,
 *   then moved set-based, `duckdb-bulk-load.ts`), key built, table swapped in. Ceiling: DuckDB's
 *   appender alone landing the very same wide rows (made beforehand, 13 values each) into a table
 *   of the same shape, in transactions of `MOVE_ROWS` (the most a rebuild moves at once; the
 *   appender is fastest with large ones) — the plain way to load ready rows, which the rebuild
 *   itself no longer takes.
 * - Landing lag at a steady rate: publish → the event's row committed in the warehouse, through the
 *   real landing subscription. Ceiling: publish → a batch handler that does nothing, same rate, same
 *   batch options.
 */
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { v7 as uuidv7 } from 'uuid';
import type { DeliveredEvent } from '../src/bus/index.ts';
import type { UnstoredEvent } from '../src/contracts/index.ts';
import { createMetrics } from '../src/platform/metrics.ts';
import { appendTo } from '../src/services/warehouse/duckdb-appender.ts';
import { MOVE_ROWS } from '../src/services/warehouse/duckdb-bulk-load.ts';
import { openDuckDbWarehouse } from '../src/services/warehouse/duckdb-store.ts';
import { startLanding } from '../src/services/warehouse/landing.ts';
import { rebuildWarehouse } from '../src/services/warehouse/rebuild.ts';
import { rowMaker, type EventRow } from '../src/services/warehouse/rows.ts';
import type { WarehouseStore } from '../src/services/warehouse/store.ts';
import { eventsColumnsSql } from '../src/services/warehouse/views.ts';
import { dataPool, orderPlacedEnvelope } from './fixtures.ts';
import type { Figure } from './report.ts';
import { cpuMeter, nowMs, paced, percentiles, sleep } from './stats.ts';
import type { Target } from './targets.ts';

export interface WarehouseSectionOptions {
  /** Events in the log the rebuild reads. */
  readonly events: number;
  /** Events per second of the landing-lag run, and how long it runs. */
  readonly rate: number;
  readonly durationMs: number;
  /** Events per landing transaction (FLAMINGO_WAREHOUSE_BATCH_SIZE's default). */
  readonly batchSize: number;
  /** Work dir of the run. */
  readonly dir: string;
}

/** Events the rebuild reads and turns into rows before handing them to the store. */
const CHUNK = 20_000;
const toRow = rowMaker({ personalData: 'pseudonymise', pseudonymKey: 'bench-pseudonym-key-0123456789abcdef' });

/**
 * DuckDB's appender alone: `rows` (wide, 13 values each) into a fresh table of the rebuild's shape,
 * in transactions of the rebuild's size (`MOVE_ROWS`), appended `CHUNK` at a time.
 */
async function rawAppend(file: string, rows: readonly EventRow[]): Promise<number> {
  const instance = await DuckDBInstance.create(file, { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
  const connection = await instance.connect();
  try {
    await connection.run(`CREATE TABLE events (${eventsColumnsSql('duckdb')})`);
    const start = nowMs();
    for (let i = 0; i < rows.length; i += MOVE_ROWS) {
      await connection.run('BEGIN TRANSACTION');
      for (let j = i; j < Math.min(rows.length, i + MOVE_ROWS); j += CHUNK) await appendTo(connection, 'events', rows.slice(j, Math.min(j + CHUNK, i + MOVE_ROWS)));
      await connection.run('COMMIT');
    }
    return (rows.length * 1000) / (nowMs() - start);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function rebuildFigures(target: Target, options: WarehouseSectionOptions): Promise<Figure[]> {
  const opened = await target.open('warehouse-log');
  const { bus } = opened;
  try {
    const template = Array.from({ length: 1_000 }, (_, n) => orderPlacedEnvelope(n));
    for (let done = 0; done < options.events; ) {
      const size = Math.min(1_000, options.events - done);
      const batch: UnstoredEvent[] = new Array<UnstoredEvent>(size);
      for (let i = 0; i < size; i++) batch[i] = { ...template[i], id: uuidv7() };
      await bus.engine.append(batch);
      done += size;
    }
    // The ceiling's rows: the same events, made before the clock starts.
    const rows: EventRow[] = [];
    for (let after = 0; ; ) {
      const page = await bus.read({ afterSequence: after, limit: 1_000 });
      if (page.length === 0) break;
      for (const event of page) rows.push(toRow(event));
      after = page[page.length - 1]!.sequence;
    }
    const ceilings = [await rawAppend(path.join(options.dir, 'raw-1.duckdb'), rows), await rawAppend(path.join(options.dir, 'raw-2.duckdb'), rows)];
    rows.length = 0;
    const store = await openDuckDbWarehouse(path.join(options.dir, 'warehouse.duckdb'));
    try {
      const used = cpuMeter();
      const result = await rebuildWarehouse({ store, bus, toRow, chunkSize: CHUNK });
      const cpuUsPerEvent = used() / Math.max(1, result.done);
      const stats = await store.stats();
      const name = `rebuild from a ${options.events / 1000}k-event log`;
      return [
        {
          section: 'warehouse',
          name,
          unit: 'ev/s',
          value: result.rate,
          ceiling: Math.max(...ceilings),
          ceilingName: `DuckDB appender alone, same wide rows, transactions of ${MOVE_ROWS.toLocaleString('en').replaceAll(',', ' ')}, best of 2`,
          goals: [
            { kind: 'atLeast', value: 100_000 },
            { kind: 'ratioAtLeast', value: 0.5 },
          ],
          note: `${stats.rows} rows landed in ${result.elapsedSeconds.toFixed(2)} s; ${cpuUsPerEvent.toFixed(1)} µs CPU per event (log read, redaction, rows, append, key, swap)`,
        },
      ];
    } finally {
      await store.close();
    }
  } finally {
    await opened.close();
  }
}

/** Publishes at `rate` for `durationMs`; `onLanded` is where the clock of an event stops. */
async function steadyLag(target: Target, options: WarehouseSectionOptions, label: string, subscribe: (bus: import('../src/bus/index.ts').Bus, landed: (ids: readonly string[]) => void) => Promise<() => Promise<void>>) {
  const opened = await target.open(label);
  const { bus } = opened;
  const pool = dataPool(1_000);
  const sentAt = new Map<string, number>();
  const lags: number[] = [];
  let recording = false;
  const landed = (ids: readonly string[]) => {
    const at = nowMs();
    for (const id of ids) {
      const start = sentAt.get(id);
      if (start === undefined) continue;
      sentAt.delete(id);
      if (recording) lags.push(at - start);
    }
  };
  const stop = await subscribe(bus, landed);
  try {
    const send = (i: number) => {
      const id = uuidv7();
      sentAt.set(id, nowMs());
      bus.publish({ id, type: 'order.placed', data: pool[i % pool.length]! }).catch(() => undefined);
    };
    await paced(options.rate, 1_000, send);
    await sleep(500);
    recording = true;
    const pacing = await paced(options.rate, options.durationMs, send);
    const deadline = nowMs() + 10_000;
    while (lags.length < pacing.sent && nowMs() < deadline) await sleep(20);
    recording = false;
    return { lag: percentiles(lags), missing: pacing.sent - lags.length };
  } finally {
    await stop();
    await opened.close();
  }
}

async function lagFigures(target: Target, options: WarehouseSectionOptions): Promise<Figure[]> {
  const batchOptions = { types: ['*'] as const, startAt: 'beginning' as const, concurrency: 1, ordering: 'none' as const, maxBatchSize: options.batchSize };
  const ceiling = await steadyLag(target, options, 'warehouse-noop', async (bus, landed) => {
    const subscription = await bus.subscribeBatch({ name: 'bench-noop', ...batchOptions }, (events: readonly DeliveredEvent[]) => landed(events.map((e) => e.id)));
    return () => subscription.close();
  });
  let store: WarehouseStore | undefined;
  const measured = await steadyLag(target, options, 'warehouse-landing', async (bus, landed) => {
    const real = await openDuckDbWarehouse(path.join(options.dir, 'landing.duckdb'));
    // The real store; the clock stops once a batch's transaction has committed.
    store = {
      ...real,
      async land(rows) {
        const added = await real.land(rows);
        landed(rows.map((r) => r.id));
        return added;
      },
    };
    const landing = await startLanding({ bus, store, toRow, metrics: createMetrics(), batchSize: options.batchSize });
    return async () => {
      await landing.close();
      await real.close();
    };
  });
  const at = `at a steady ${options.rate}/s`;
  const note = `${measured.lag.count} events over ${options.durationMs / 1000} s, batches ≤ ${options.batchSize}${measured.missing > 0 ? `; ${measured.missing} not landed within 10 s` : ''}`;
  const ceilingName = 'publish → no-op batch handler';
  return [
    { section: 'warehouse', name: `landing lag p50 ${at}`, unit: 'ms', value: measured.lag.p50, ceiling: ceiling.lag.p50, ceilingName },
    { section: 'warehouse', name: `landing lag p99 ${at}`, unit: 'ms', value: measured.lag.p99, ceiling: ceiling.lag.p99, ceilingName, goals: [{ kind: 'atMost', value: 1_000 }], note },
  ];
}

/** The warehouse reads the log through the bus like any consumer, on whichever engine the run is on. */
export async function warehouseSection(target: Target, options: WarehouseSectionOptions): Promise<Figure[]> {
  return [...(await rebuildFigures(target, options)), ...(await lagFigures(target, options))];
}
