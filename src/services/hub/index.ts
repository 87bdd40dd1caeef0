/**
 * The customer hub (`hub`): a read model of everything about a customer's orders and
 * notifications, built only from events and rebuildable from the log, served at `/v1/me/*` with a
 * live stream, and the customer page at `/account`. Reacts to the order's life (`hub.orders`), to
 * `notification.created` (`hub.notifications`, its own subscription so the inbox never waits behind
 * order history) and to `user.banned` (`hub.bans`: the customer's open streams end).
 */
import { busTablesMigration } from '../../bus/index.ts';
import { declareReads, type ReadDeclaration, type ReadEvent, type ReadFields } from '../../contracts/index.ts';
import { startServiceRuntime } from '../runtime.ts';
import type { ServiceDefinition } from '../service.ts';
import { customerFeeds } from './feed.ts';
import { createSignals } from './live.ts';
import { hubTables } from './migrations/001_hub.ts';
import { notificationsReads, prefetchOrders, projectNotification, projectOrderEvent } from './projection.ts';
import { registerHubRoutes } from './routes.ts';
import { ordersReads } from './sentences.ts';
import type { HubDatabase, HubDb } from './store.ts';

/** What `hub.bans` reads: whose streams end. */
export const bansReads = declareReads('hub.bans', { 'user.banned': ['userId'] });

export const hubMigrations = { '000_bus': busTablesMigration, '001_hub': hubTables };

/**
 * How long the live stream keeps a change (30 days): a client resuming from an older position has
 * been away long enough to load the page again. Pruned hourly.
 */
export const STREAM_RETENTION_MS = 30 * 24 * 3600_000;

/** Events a projection handles in one transaction (one commit) when they are waiting. */
const PROJECTION_BATCH = 100;

export interface HubServiceOptions {
  /** The database: SQLite file stem or PostgreSQL schema. (Default: 'hub') */
  readonly databaseName?: string;
  /**
   * Prefix of the subscriptions (`<prefix>.orders`, `<prefix>.notifications`, `<prefix>.bans`). A new
   * prefix with a new database builds a second hub from the beginning of the log. (Default: 'hub')
   */
  readonly subscriptionPrefix?: string;
  /** Serve `/v1/me/*` and `/account`. (Default: true; a second hub built beside the first serves nothing) */
  readonly routes?: boolean;
}

export function hubService(options: HubServiceOptions = {}): ServiceDefinition {
  const prefix = options.subscriptionPrefix ?? 'hub';
  return {
    name: 'hub',
    /** What its subscriptions read (issue 14). */
    reads: [ordersReads, notificationsReads, bansReads],
    async start(context) {
      let pruneStream: NodeJS.Timeout | undefined;
      const running = await startServiceRuntime<HubDatabase, never>(context, { name: 'hub', databaseName: options.databaseName, migrations: hubMigrations }, async (runtime) => {
        const db: HubDb = runtime.db;
        const signals = createSignals();
        const feeds = customerFeeds(db, signals);
        if (options.routes !== false) registerHubRoutes(context.http, { db, signals, feeds });

        /**
         * Projects once (the runtime's inbox), up to `PROJECTION_BATCH` events in one transaction,
         * then wakes the customers' streams once it committed.
         */
        const project = <R extends ReadFields>(
          name: string,
          reads: ReadDeclaration<R>,
          apply: (trx: HubDb, event: ReadEvent<R>) => Promise<string | undefined>,
          prepare?: (trx: HubDb, events: readonly ReadEvent<R>[]) => Promise<void>,
        ) =>
          runtime.react<R>({
            name,
            reads,
            concurrency: 8,
            maxBatchSize: PROJECTION_BATCH,
            ...(prepare ? { prepare } : {}),
            async react(trx, event, afterCommit) {
              const touched = await apply(trx, event);
              if (touched) afterCommit(() => signals.notify([touched]));
              return [];
            },
          });
        // A batch's orders are read in one statement before its events (`prefetchOrders`).
        await project(`${prefix}.orders`, ordersReads, projectOrderEvent, prefetchOrders);
        await project(`${prefix}.notifications`, notificationsReads, projectNotification);
        if (runtime.workers) {
          pruneStream = setInterval(() => {
            void db
              .deleteFrom('stream')
              .where('created_at', '<', new Date(Date.now() - STREAM_RETENTION_MS).toISOString())
              .execute()
              .catch((err: unknown) => context.logger.warn({ err }, 'hub stream pruning failed; trying again later'));
          }, 3600_000);
          pruneStream.unref();
        }
        // A banned customer's open streams end at once (their credentials are already refused by the guard).
        await runtime.subscribe({ name: `${prefix}.bans`, reads: bansReads, concurrency: 4 }, async (event) => {
          feeds.end(event.data.userId);
        });
      }).catch((error: unknown) => {
        clearInterval(pruneStream);
        throw error;
      });
      return {
        async stop() {
          clearInterval(pruneStream);
          await running.stop();
        },
      };
    },
  };
}
