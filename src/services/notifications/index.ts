/**
 * Notifications (`notifications`): rules from event types to notifications (`rules.ts`), the
 * customers' preferences, and email through an outbox (`email-outbox.ts`). Publishes
 * `notification.created` (the customer hub shows it); reacts to the rules' types in two lanes,
 * immediate and background (`handlers.ts`).
 */
import path from 'node:path';
import { busTablesMigration } from '../../bus/index.ts';
import { startServiceRuntime, type Cause } from '../runtime.ts';
import type { ServiceDefinition } from '../service.ts';
import { startEmailOutbox, type EmailOutbox, type EmailOutboxOptions } from './email-outbox.ts';
import { notificationLanes } from './handlers.ts';
import { createMailer } from './mailer.ts';
import { notificationsTables } from './migrations/001_notifications.ts';
import { notify, writeLearnt, type Notified } from './notify.ts';
import { registerNotificationsRoutes } from './routes.ts';
import { notificationsSettings, readNotificationsSettings } from './settings.ts';
import type { NotificationsDatabase } from './store.ts';

export const notificationsMigrations = { '000_bus': busTablesMigration, '001_notifications': notificationsTables };
export { notificationsSettings };

/** Events a lane handles in one transaction when they are waiting. */
const LANE_BATCH = 100;

export interface NotificationsServiceOptions {
  /** The database: SQLite file stem or PostgreSQL schema. (Default: 'notifications') */
  readonly databaseName?: string;
  /** Email outbox timings (lease, backoff, poll). (Default: see `EmailOutboxOptions`) */
  readonly email?: Pick<EmailOutboxOptions, 'leaseMs' | 'initialDelayMs' | 'maxDelayMs' | 'pollMs' | 'concurrency'>;
}

type Created = Notified['events'][number];

/** A notification continues the conversation of the event it came from. */
const inherit = (_published: Created, cause: Cause) => ({
  ...(cause.correlationid === undefined ? {} : { correlationid: cause.correlationid }),
  ...(cause.traceparent === undefined ? {} : { traceparent: cause.traceparent }),
});

export function notificationsService(options: NotificationsServiceOptions = {}): ServiceDefinition {
  return {
    name: 'notifications',
    /** What its subscriptions read (issue 14). */
    reads: notificationLanes().map((lane) => lane.reads),
    settings: notificationsSettings,
    async start(context) {
      const settings = readNotificationsSettings(context.env);
      let emails: EmailOutbox | undefined;
      let unwatchMail: (() => void) | undefined;
      const running = await startServiceRuntime<NotificationsDatabase, Created>(
        context,
        { name: 'notifications', databaseName: options.databaseName, migrations: notificationsMigrations, inherit },
        async (runtime) => {
          registerNotificationsRoutes(context.http, runtime.db);
          // Serving the routes only: the email sender runs where the service's workers run.
          if (!runtime.workers) return;
          const mailer = createMailer({
            ...(settings.smtpUrl ? { smtpUrl: settings.smtpUrl } : {}),
            from: settings.mailFrom,
            publicUrl: settings.publicUrl,
            mailDir: path.join(context.database.dataDir, 'mail'),
            timeoutMs: settings.smtpTimeoutMs,
          });
          // A claim outlives the longest send, so a slow send is never taken over while it runs.
          const leaseMs = 2 * settings.smtpTimeoutMs + 1_000;
          emails = startEmailOutbox({ db: runtime.db, dialect: runtime.dialect, mailer, logger: context.logger, leaseMs, ...options.email });
          const outbox = emails;
          unwatchMail = context.metrics.watchMailBacklog(() => outbox.backlog());
          context.logger.info({ mail: mailer.target }, 'notifications email outbox started');

          for (const lane of notificationLanes()) {
            await runtime.react({
              ...lane,
              // What a lane has waiting is handled in one transaction (one commit).
              maxBatchSize: LANE_BATCH,
              // The owners of a batch's placed orders are written together, at the end or before one is read.
              finish: writeLearnt,
              async react(trx, event, afterCommit) {
                const notified = await notify(trx, event, { deferOwners: true });
                if (notified.email) afterCommit(() => emails?.wake());
                return notified.events;
              },
            });
          }
        },
      ).catch(async (error: unknown) => {
        await emails?.stop();
        throw error;
      });
      return {
        async stop() {
          // The sender first (an email in flight finishes), then subscriptions, relay and database.
          unwatchMail?.();
          await emails?.stop();
          await running.stop();
        },
      };
    },
  };
}

