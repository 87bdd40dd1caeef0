import { busTablesMigration } from '../../bus/index.ts';
import { readSettings } from '../../platform/settings.ts';
import { startServiceRuntime } from '../runtime.ts';
import type { ServiceDefinition } from '../service.ts';
import type { PaymentEvent } from './events.ts';
import { chargesBatchHandler, chargesReads } from './handlers.ts';
import { paymentsTables } from './migrations/001_payments.ts';
import { sandboxTables } from './migrations/002_sandbox.ts';
import { registerPaymentsRoutes } from './routes.ts';
import { sandboxProvider } from './sandbox.ts';
import { paymentsSettings } from './settings.ts';
import type { PaymentsDatabase } from './store.ts';

export const paymentsMigrations = { '000_bus': busTablesMigration, '001_payments': paymentsTables, '002_sandbox': sandboxTables };
export { paymentsSettings };

/** Events of `payments.charges` handed out together when they are waiting (consecutive `order.placed` share a commit). */
const CHARGES_BATCH = 50;

export interface PaymentsServiceOptions {
  /** The database: SQLite file stem or PostgreSQL schema. (Default: `payments`) */
  readonly databaseName?: string;
  /** How many orders are charged at once in this process (a slow provider holds a slot). (Default: 16) */
  readonly concurrency?: number;
}

/**
 * The payments context: charges an order once stock is reserved, through the sandbox provider
 * (test tokens `tok_ok`, `tok_declined`, `tok_slow`), and refunds it when a paid order is cancelled.
 * Publishes `payment.succeeded`, `payment.failed` (immediate) and `payment.refunded`. Its one
 * subscription, `payments.charges`, calls the provider between two transactions (`runtime.once`).
 */
export function paymentsService(options: PaymentsServiceOptions = {}): ServiceDefinition {
  return {
    name: 'payments',
    /** What its subscriptions read (issue 14). */
    reads: [chargesReads],
    settings: paymentsSettings,
    async start(context) {
      const { FLAMINGO_SANDBOX_SLOW_MS: slowMs } = readSettings(paymentsSettings, context.env);
      return startServiceRuntime<PaymentsDatabase, PaymentEvent>(context, { name: 'payments', databaseName: options.databaseName, migrations: paymentsMigrations }, async (runtime) => {
        const sandbox = sandboxProvider({ db: runtime.db, slowMs });
        registerPaymentsRoutes(context.http, { db: runtime.db, sandbox });
        await runtime.subscribeBatch(
          { name: 'payments.charges', reads: chargesReads, concurrency: options.concurrency ?? 16, maxBatchSize: CHARGES_BATCH },
          chargesBatchHandler({ db: runtime.db, once: runtime.once, provider: sandbox, logger: context.logger }),
        );
      });
    },
  };
}
