import { busTablesMigration, createOutbox } from '../../bus/index.ts';
import type { Subscription } from '../../bus/types.ts';
import { migrate, openDatabase } from '../../platform/db.ts';
import type { ServiceDefinition } from '../service.ts';
import { CHARGE_TYPES, chargesHandler, type ChargeType } from './handlers.ts';
import { paymentsTables } from './migrations/001_payments.ts';
import { sandboxTables } from './migrations/002_sandbox.ts';
import { registerPaymentsRoutes } from './routes.ts';
import { sandboxProvider } from './sandbox.ts';
import { readPaymentsSettings } from './settings.ts';
import type { PaymentsDatabase } from './store.ts';

export const PAYMENTS_MIGRATIONS = { '000_bus': busTablesMigration, '001_payments': paymentsTables, '002_sandbox': sandboxTables };

export interface PaymentsServiceOptions {
  /** The SQLite file stem / PostgreSQL schema of the service's database. (Default: `payments`) */
  readonly databaseName?: string;
  /** How many orders are charged at once in this process (a slow provider holds a slot). (Default: 16) */
  readonly concurrency?: number;
}

/**
 * The payments context: charges an order once stock is reserved, through the sandbox provider
 * (test tokens `tok_ok`, `tok_declined`, `tok_slow`), and refunds it when a paid order is cancelled.
 * Publishes `payment.succeeded`, `payment.failed` (immediate) and `payment.refunded`.
 */
export function createPaymentsService(options: PaymentsServiceOptions = {}): ServiceDefinition {
  return {
    name: 'payments',
    async start(ctx) {
      const settings = readPaymentsSettings(ctx.env);
      const database = await openDatabase<PaymentsDatabase>(options.databaseName ?? 'payments', ctx.database);
      const subscriptions: Subscription[] = [];
      const outbox = createOutbox({
        db: database.db,
        bus: ctx.bus,
        dialect: database.dialect,
        ...(ctx.database.databaseUrl ? { databaseUrl: ctx.database.databaseUrl } : {}),
        onError: (err, context) => ctx.logger.error({ err, ...context }, 'payments outbox relay failed'),
      });
      const stop = async () => {
        await Promise.all(subscriptions.splice(0).map((s) => s.close()));
        await outbox.stop();
        await database.close();
      };
      try {
        await migrate(database.db, PAYMENTS_MIGRATIONS);
        const { db } = database;
        const sandbox = sandboxProvider({ db, slowMs: settings.sandboxSlowMs });
        registerPaymentsRoutes(ctx.http, { db, sandbox, requireAdmin: ctx.requireAdmin });
        await outbox.start();
        subscriptions.push(
          await ctx.bus.subscribe<ChargeType>(
            { name: 'payments.charges', types: CHARGE_TYPES, concurrency: options.concurrency ?? 16 },
            chargesHandler({ db, outbox, provider: sandbox, logger: ctx.logger }),
          ),
        );
        return { stop };
      } catch (error) {
        await stop();
        throw error;
      }
    },
  };
}

export const paymentsService = createPaymentsService();
