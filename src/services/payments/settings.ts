import { ConfigError } from '../../platform/config.ts';

/** The payments service's own settings, from the environment the app hands it. */
export interface PaymentsSettings {
  /** `FLAMINGO_SANDBOX_SLOW_MS`: how long a sandbox `tok_slow` charge is processing. (Default: 3 000) */
  readonly sandboxSlowMs: number;
}

export const DEFAULT_SANDBOX_SLOW_MS = 3_000;

/** Reads and checks the settings; a bad value stops the start with a line naming it. */
export function readPaymentsSettings(env: Readonly<Record<string, string | undefined>>): PaymentsSettings {
  const raw = env.FLAMINGO_SANDBOX_SLOW_MS;
  if (raw === undefined || raw.trim() === '') return { sandboxSlowMs: DEFAULT_SANDBOX_SLOW_MS };
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 600_000) {
    throw new ConfigError([`FLAMINGO_SANDBOX_SLOW_MS: must be a whole number of milliseconds from 0 to 600000, got "${raw}"`]);
  }
  return { sandboxSlowMs: value };
}
