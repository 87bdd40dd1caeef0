import { busTablesMigration } from '../../bus/index.ts';
import { startServiceRuntime } from '../runtime.ts';
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
      return startServiceRuntime<PaymentsDatabase>(ctx, { name: 'payments', databaseName: options.databaseName, migrations: PAYMENTS_MIGRATIONS }, async ({ db, outbox, subscribe }) => {
        const sandbox = sandboxProvider({ db, slowMs: settings.sandboxSlowMs });
        registerPaymentsRoutes(ctx.http, { db, sandbox });
        await subscribe<ChargeType>(
          { name: 'payments.charges', types: CHARGE_TYPES, concurrency: options.concurrency ?? 16 },
          chargesHandler({ db, outbox, provider: sandbox, logger: ctx.logger }),
        );
      });
    },
  };
}

export const paymentsService = createPaymentsService();
