import { ConfigError } from '../../platform/config.ts';

/** The orders service's own settings, from the environment the app hands it. */
export interface OrdersSettings {
  /**
   * `FLAMINGO_PAYMENT_TIMEOUT_MS`: an order not paid this long after it was placed is cancelled
   * (`payment_timeout`). Measured from when `order.placed` was recorded. (Default: 900 000 = 15 min)
   */
  readonly paymentTimeoutMs: number;
}

export const DEFAULT_PAYMENT_TIMEOUT_MS = 15 * 60_000;

/** Reads and checks the settings; a bad value stops the start with a line naming it. */
export function readOrdersSettings(env: Readonly<Record<string, string | undefined>>): OrdersSettings {
  const raw = env.FLAMINGO_PAYMENT_TIMEOUT_MS;
  if (raw === undefined || raw.trim() === '') return { paymentTimeoutMs: DEFAULT_PAYMENT_TIMEOUT_MS };
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 100 || value > 7 * 24 * 3600_000) {
    throw new ConfigError([`FLAMINGO_PAYMENT_TIMEOUT_MS: must be a whole number of milliseconds from 100 to 604800000 (7 days), got "${raw}"`]);
  }
  return { paymentTimeoutMs: value };
}
