/**
 * The customer hub (`hub`): a read model of everything about a customer's orders and
 * notifications, built only from events and rebuildable from the log, served at `/v1/me/*` with a
 * live stream. Reacts to the order's life (`hub.orders`) and to `notification.created`
 * (`hub.notifications`, its own subscription so the inbox never waits behind order history).
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { busTablesMigration, handleOnce, type DeliveredEvent } from '../../bus/index.ts';
import { startServiceRuntime } from '../runtime.ts';
import type { ServiceDefinition } from '../service.ts';
import { createSignals } from './live.ts';
import { hubTables } from './migrations/001_hub.ts';
import { projectNotification, projectOrderEvent } from './projection.ts';
import { registerAccountPage } from './page.ts';
import { registerHubRoutes } from './routes.ts';
import { ORDER_TYPES } from './sentences.ts';
import type { HubDatabase, HubDb } from './store.ts';
import { openStreams } from './stream.ts';

export const hubMigrations = { '000_bus': busTablesMigration, '001_hub': hubTables };

export interface HubServiceOptions {
  /** The database: SQLite file stem or PostgreSQL schema. (Default: 'hub') */
  readonly databaseName?: string;
  /**
   * Prefix of the subscriptions (`<prefix>.orders`, `<prefix>.notifications`). A new prefix with a
   * new database builds a second hub from the beginning of the log. (Default: 'hub')
   */
  readonly subscriptionPrefix?: string;
  /** Serve `/v1/me/*`. (Default: true; a second hub built beside the first serves nothing) */
  readonly routes?: boolean;
}

export function hubService(options: HubServiceOptions = {}): ServiceDefinition {
  const prefix = options.subscriptionPrefix ?? 'hub';
  return {
    name: 'hub',
    async start(context) {
      const signals = createSignals();
      let closeStreams = () => {};
      const running = await startServiceRuntime<HubDatabase>(context, { name: 'hub', databaseName: options.databaseName, migrations: hubMigrations }, async (runtime) => {
        const db: HubDb = runtime.db;
        const streams = openStreams(db, signals, context.logger);
        closeStreams = () => streams.closeAll();
        if (options.routes !== false) {
          registerHubRoutes(context.http, { db, signals, streams });
          registerAccountPage(context.http);
          // Open streams would hold the server's close; they end first.
          context.http.addHook('preClose', async () => streams.closeAll());
        }
        /** Projects in a `handleOnce` transaction, then signals the customer's streams once it committed. */
        const project = (apply: (trx: HubDb, event: DeliveredEvent) => Promise<string | undefined>) => async (event: DeliveredEvent, handlerContext: Parameters<ReturnType<typeof handleOnce>>[1]) => {
          // On SQLite every query resolves at once: without a turn of the event loop per event, a
          // backlog would be drained on microtasks alone, starving the streams and HTTP.
          await yieldToEventLoop();
          let touched: string | undefined;
          await handleOnce<HubDatabase>(db, async (delivered, trx) => {
            touched = await apply(trx, delivered);
          })(event, handlerContext);
          if (touched) signals.notify([touched]);
        };
        await runtime.subscribe({ name: `${prefix}.orders`, types: ORDER_TYPES, concurrency: 8 }, project(projectOrderEvent));
        // A banned customer's stream tickets stop working and their open streams end at once (their
        // session token is already refused by the guard on every route).
        await runtime.subscribe({ name: `${prefix}.bans`, types: ['user.banned'], concurrency: 4 }, async (event) => {
          const { userId } = (event as DeliveredEvent<'user.banned'>).data;
          await db.deleteFrom('stream_tickets').where('user_id', '=', userId).execute();
          streams.closeCustomer(userId);
        });
        await runtime.subscribe(
          { name: `${prefix}.notifications`, types: ['notification.created'], concurrency: 8 },
          project((trx, event) => projectNotification(trx, event as DeliveredEvent<'notification.created'>)),
        );
      });
      return {
        async stop() {
          closeStreams();
          await running.stop();
        },
      };
    },
  };
}

/** The customer hub with its default database. */
export const hub = hubService();
