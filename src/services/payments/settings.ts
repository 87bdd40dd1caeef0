import { Type } from '@sinclair/typebox';

/** The payments service's own settings (platform/settings.ts reads them from the environment). */
export const paymentsSettings = Type.Object({
  /** How long a sandbox `tok_slow` charge is processing. (Default: 3 000; 0 to 600 000) */
  FLAMINGO_SANDBOX_SLOW_MS: Type.Integer({ minimum: 0, maximum: 600_000, default: 3_000, description: 'Milliseconds a sandbox tok_slow charge is processing.' }),
});
