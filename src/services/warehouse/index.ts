/**
 * The warehouse (`warehouse`, issue 11, seed 000's third problem): every event of the bus landed
 * once in one analytical database — DuckDB in the data dir, or PostgreSQL — with a view per event
 * type and the models the data team asked for, queried in read-only SQL by analysts, exported as
 * Parquet, rebuilt from the log. See README "Warehouse".
 */
import { ApiError } from '../../platform/errors.ts';
import { readOrCreateSecret } from '../../platform/secrets.ts';
import type { RunningService, ServiceContext, ServiceDefinition } from '../service.ts';
import { openDuckDbWarehouse } from './duckdb-store.ts';
import { startLanding, warehouseReads, type Landing } from './landing.ts';
import { openPostgresWarehouse } from './postgres-store.ts';
import { rebuildWarehouse, type RebuildProgress } from './rebuild.ts';
import { registerWarehouseRoutes } from './routes.ts';
import { rowMaker } from './rows.ts';
import { readWarehouseSettings, warehouseSettings, type WarehouseSettings } from './settings.ts';
import type { QueryLimits, WarehouseStore } from './store.ts';

export { WAREHOUSE_SUBSCRIPTION } from './landing.ts';
export { warehouseSettings, readWarehouseSettings, type WarehouseSettings } from './settings.ts';
export type { RebuildProgress } from './rebuild.ts';

/** Opens the configured backend. */
export function openWarehouse(settings: WarehouseSettings, secret: string): Promise<WarehouseStore> {
  const { backend } = settings;
  return backend.kind === 'duckdb'
    ? openDuckDbWarehouse(backend.file)
    : openPostgresWarehouse({ url: backend.url, schema: backend.schema, secret, ...(backend.readerUrl ? { readerUrl: backend.readerUrl } : {}) });
}

/** The warehouse service (`warehouse`): its settings are `warehouseSettings` (README "Warehouse"). */
export function warehouseService(): ServiceDefinition {
  return { name: 'warehouse', settings: warehouseSettings, reads: [warehouseReads], start };
}

async function start(context: ServiceContext): Promise<RunningService> {
  const { bus, logger } = context;
  const dataDir = context.database.dataDir;
  const settings = readWarehouseSettings(context.env, dataDir);
  const limits = { timeoutMs: settings.queryTimeoutMs, maxRows: settings.maxRows };
  if (context.workerMode === 'server') {
    if (settings.backend.kind === 'duckdb') {
      // DuckDB is one process's file: this process's data dir holds no warehouse.
      const elsewhere = new ApiError(
        503,
        'warehouse_elsewhere',
        'the warehouse is a DuckDB file of the process running the warehouse service; ask that process, or put the warehouse on PostgreSQL (FLAMINGO_WAREHOUSE_URL) so every process answers',
      );
      registerWarehouseRoutes(context.http, { store: elsewhere, limits, rebuilding: () => false, rebuild: () => Promise.reject(elsewhere) });
      return { stop: async () => {} };
    }
    return serveOnly(context, settings, limits);
  }
  // The pseudonyms' key: every process of one warehouse must share it (equal values, equal pseudonyms).
  const key = readOrCreateSecret(dataDir, 'warehouse.key', settings.pseudonymKey);
  const store = await openWarehouse(settings, key.value);
  const toRow = rowMaker({ personalData: settings.personalData, pseudonymKey: key.value });
  const running = await startLanding({ bus, store, toRow, metrics: context.metrics, batchSize: settings.batchSize }).catch(async (error: unknown) => {
    await store.close();
    throw error;
  });
  const rebuilds = rebuilder({ store, bus, toRow, logger, landing: running });
  registerWarehouseRoutes(context.http, { store, limits, ...rebuilds });
  logger.info({ backend: settings.backend.kind, location: store.location, personalData: settings.personalData, ...running.stats() }, 'warehouse landing');
  return {
    async stop() {
      await running.close();
      await rebuilds.settled();
      await store.close();
    },
  };
}

/** `server` mode on PostgreSQL: the routes on the shared warehouse; the landing runs elsewhere. */
async function serveOnly(context: ServiceContext, settings: WarehouseSettings, limits: QueryLimits): Promise<RunningService> {
  const key = readOrCreateSecret(context.database.dataDir, 'warehouse.key', settings.pseudonymKey);
  const store = await openWarehouse(settings, key.value);
  const toRow = rowMaker({ personalData: settings.personalData, pseudonymKey: key.value });
  const rebuilds = rebuilder({ store, bus: context.bus, toRow, logger: context.logger });
  registerWarehouseRoutes(context.http, { store, limits, ...rebuilds });
  return {
    async stop() {
      await rebuilds.settled();
      await store.close();
    },
  };
}

/** One rebuild at a time in this process; the landing here (if any) rereads its counts after one. */
function rebuilder(deps: { store: WarehouseStore; bus: ServiceContext['bus']; toRow: ReturnType<typeof rowMaker>; logger: ServiceContext['logger']; landing?: Landing }) {
  const { store, bus, toRow, logger, landing } = deps;
  let rebuilding: Promise<RebuildProgress> | undefined;
  return {
    rebuilding: () => rebuilding !== undefined,
    rebuild(onProgress: (progress: RebuildProgress) => void) {
      if (rebuilding) return rebuilding;
      logger.info('warehouse rebuild started');
      rebuilding = rebuildWarehouse({ store, bus, toRow, onProgress })
        .then(async (final) => {
          await landing?.refresh();
          logger.info({ events: final.done, seconds: final.elapsedSeconds, rate: Math.round(final.rate) }, 'warehouse rebuilt');
          return final;
        })
        .finally(() => (rebuilding = undefined));
      return rebuilding;
    },
    /** Resolves once no rebuild runs (its failure is the route's to report). */
    settled: async () => {
      await rebuilding?.catch(() => undefined);
    },
  };
}
