import type { Kysely } from 'kysely';
import { busTablesMigration } from '../../bus/index.ts';
import { startServiceRuntime } from '../runtime.ts';
import type { ServiceDefinition } from '../service.ts';
import { attemptLog } from './attempts.ts';
import { relaxDurability } from './durability.ts';
import { startDispatcher } from './dispatcher.ts';
import { createLimiter } from './limiter.ts';
import { deliveryTables } from './migrations/001_delivery.ts';
import { learnedPace } from './migrations/002_learned_pace.ts';
import { registerDeliveryRoutes } from './routes.ts';
import { readSettings } from '../../platform/settings.ts';
import { deliverySettings } from './settings.ts';
import type { DeliveryDatabase } from './store.ts';
import { targetStore } from './targets.ts';
import { syncTargetContracts } from './contracts.ts';

export const deliveryMigrations = { '000_bus': busTablesMigration, '001_delivery': deliveryTables, '002_learned_pace': learnedPace };

export { deliverySettings };

export interface DeliveryServiceOptions {
  /** The SQLite file stem / PostgreSQL schema of the service's database. (Default: `delivery`) */
  readonly databaseName?: string;
}

/**
 * Delivery to rate-limited targets (webhooks, shop platform APIs): each target is a subscription
 * of its own; a limiter shared by every process runs before each request and learns from the
 * target's replies; 429 is back-pressure, not an attempt; failures retry on the target's schedule
 * into its dead letters; every request is signed (Standard Webhooks) and logged.
 */
export function deliveryService(options: DeliveryServiceOptions = {}): ServiceDefinition {
  return {
    name: 'delivery',
    /** Its targets' contracts are registered at run time, one per target (`contracts.ts`). */
    reads: [],
    settings: deliverySettings,
    async start(ctx) {
      const env = readSettings(deliverySettings, ctx.env);
      const settings = {
        attemptRetentionMs: env.FLAMINGO_DELIVERY_ATTEMPT_RETENTION_HOURS * 3_600_000,
        refreshMs: env.FLAMINGO_DELIVERY_REFRESH_MS,
        breakerResetMs: env.FLAMINGO_DELIVERY_BREAKER_RESET_MS,
        rotationGraceMs: env.FLAMINGO_DELIVERY_ROTATION_GRACE_HOURS * 3_600_000,
      };
      let stopDispatcher: () => Promise<void> = async () => {};
      let pruning: NodeJS.Timeout | undefined;
      const running = await startServiceRuntime<DeliveryDatabase>(ctx, { name: 'delivery', databaseName: options.databaseName, migrations: deliveryMigrations }, async ({ db, dialect, workers }) => {
        await relaxDurability(db as Kysely<unknown>, dialect);
        const targets = targetStore(db);
        const limiter = createLimiter(db, dialect);
        const attempts = attemptLog(db);
        const dispatcher = startDispatcher({
          bus: ctx.bus,
          targets,
          limiter,
          attempts,
          logger: ctx.logger,
          refreshMs: settings.refreshMs,
          breakerResetMs: settings.breakerResetMs,
          // Serving the routes only: no subscriptions per target, no attempts from here.
          deliver: workers,
          onAttempt: (target: string, outcome: string) => ctx.metrics.deliveryAttempts.inc({ target, outcome }),
        });
        const unwatch = ctx.metrics.watchCircuits(() => dispatcher.circuits());
        stopDispatcher = async () => {
          unwatch();
          await dispatcher.stop();
        };
        // Every target declares what it reads (issue 14): a contract per target, kept in step with it.
        const syncContracts = async () => syncTargetContracts(ctx.contracts, await targets.list());
        await syncContracts();
        registerDeliveryRoutes(ctx.http, { bus: ctx.bus, targets, limiter, attempts, dispatcher, rotationGraceMs: settings.rotationGraceMs, syncContracts });
        await dispatcher.refresh();
        if (!workers) return;
        const prune = () =>
          attempts.prune(new Date(Date.now() - settings.attemptRetentionMs)).catch((err: unknown) => ctx.logger.error({ err }, 'could not prune the attempt log'));
        void prune();
        pruning = setInterval(() => void prune(), Math.min(settings.attemptRetentionMs / 10, 3_600_000));
        pruning.unref();
      });
      return {
        async stop() {
          clearInterval(pruning);
          await stopDispatcher();
          await running.stop();
        },
      };
    },
  };
}

