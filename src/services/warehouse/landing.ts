/**
 * Landing: the warehouse's batch subscription to every event of the bus. A batch is one
 * transaction (`WarehouseStore.land`), acknowledged only once it is committed, so a crash
 * mid-batch lands it again on redelivery — once, since `events` keeps one row per event (`source` + `id`).
 */
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Bus, Subscription } from '../../bus/index.ts';
import type { Metrics } from '../../platform/metrics.ts';
import type { CloudEvent, OpaqueReadDeclaration } from '../../contracts/index.ts';
import type { EventRow } from './rows.ts';
import { modelReads } from './views.ts';
import type { LandingStats, WarehouseStore } from './store.ts';

/** The subscription (consumer group) of the warehouse. */
export const WAREHOUSE_SUBSCRIPTION = 'warehouse';

/**
 * What the warehouse reads (issue 14): every event whole (landed as it is, read by no field), and
 * the fields its modelled views read.
 */
export const warehouseReads: OpaqueReadDeclaration = {
  consumer: WAREHOUSE_SUBSCRIPTION,
  types: ['*'],
  reads: [{ type: '*', fields: [] }, ...modelReads.reads],
};

export interface Landing {
  /** Rows landed and the last landed sequence, as this process knows them. */
  stats(): LandingStats;
  /** Reads the counts again from the database (after a rebuild). */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

export interface LandingOptions {
  readonly bus: Bus;
  readonly store: WarehouseStore;
  readonly toRow: (event: CloudEvent) => EventRow;
  readonly metrics: Metrics;
  /** Events per transaction at most. */
  readonly batchSize: number;
}

const METRIC_NAMES = ['flamingo_warehouse_rows', 'flamingo_warehouse_last_landed_sequence', 'flamingo_warehouse_events_landed_total', 'flamingo_warehouse_landing_lag_seconds'];

/** Subscribes the warehouse and publishes its figures to `GET /v1/subscriptions` and the metrics. */
export async function startLanding(options: LandingOptions): Promise<Landing> {
  const { bus, store, toRow, metrics } = options;
  let stats = await store.stats();
  const registers = [metrics.registry];
  for (const name of METRIC_NAMES) metrics.registry.removeSingleMetric(name);
  new Gauge({ name: 'flamingo_warehouse_rows', help: 'Rows of the warehouse events table (one per event id).', registers, collect() { this.set(stats.rows); } });
  new Gauge({ name: 'flamingo_warehouse_last_landed_sequence', help: 'The highest log sequence landed in the warehouse.', registers, collect() { this.set(stats.lastSequence); } });
  const landed = new Counter({ name: 'flamingo_warehouse_events_landed_total', help: 'Events landed in the warehouse by this process (redeliveries not counted).', registers });
  const lag = new Histogram({
    name: 'flamingo_warehouse_landing_lag_seconds',
    help: 'From when the bus stored an event to when the warehouse committed it.',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  metrics.describeSubscription(WAREHOUSE_SUBSCRIPTION, () => ({ rowsLanded: stats.rows, lastLandedSequence: stats.lastSequence }));

  const subscription: Subscription = await bus.subscribeBatch(
    {
      name: WAREHOUSE_SUBSCRIPTION,
      types: warehouseReads.types as readonly '*'[],
      startAt: 'beginning',
      // One writer: DuckDB takes one, and batches in order keep the last landed sequence honest.
      concurrency: 1,
      ordering: 'none',
      maxBatchSize: options.batchSize,
      // Nothing accepted is lost: a warehouse that is down is waited for, never dead-lettered.
      retry: { maxAttempts: 1_000_000, initialDelayMs: 200, maxDelayMs: 30_000 },
    },
    async (events) => {
      const added = await store.land(events.map(toRow));
      const now = Date.now();
      let last = stats.lastSequence;
      for (const event of events) {
        if (event.sequence > last) last = event.sequence;
        lag.observe(Math.max(0, now - Date.parse(event.recordedtime)) / 1000);
      }
      stats = { rows: stats.rows + added, lastSequence: last };
      landed.inc(added);
    },
  );
  return {
    stats: () => stats,
    async refresh() {
      stats = await store.stats();
    },
    async close() {
      await subscription.close();
      for (const name of METRIC_NAMES) metrics.registry.removeSingleMetric(name);
    },
  };
}
