import { Type } from '@sinclair/typebox';

/** The orders service's own settings (platform/settings.ts reads them from the environment). */
export const ordersSettings = Type.Object({
  /**
   * An order not paid this long after it was placed is cancelled (`payment_timeout`). Measured from
   * when `order.placed` was recorded. (Default: 900 000 = 15 min; 100 ms to 7 days)
   */
  FLAMINGO_PAYMENT_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    maximum: 7 * 24 * 3600_000,
    default: 15 * 60_000,
    description: 'Milliseconds an order may stay unpaid before it is cancelled (payment_timeout).',
  }),
});
