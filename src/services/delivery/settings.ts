import { ConfigError } from '../../platform/config.ts';

/** The delivery service's own settings, from the environment the app hands it. */
export interface DeliverySettings {
  /** `FLAMINGO_DELIVERY_ATTEMPT_RETENTION_HOURS`: how long the attempt log keeps an attempt. (Default: 168, a week) */
  readonly attemptRetentionMs: number;
  /** `FLAMINGO_DELIVERY_REFRESH_MS`: how often a process rereads the targets (changes made through another process). (Default: 1 000) */
  readonly refreshMs: number;
  /** `FLAMINGO_DELIVERY_BREAKER_RESET_MS`: how long an open circuit waits before a probe. (Default: 30 000) */
  readonly breakerResetMs: number;
  /** `FLAMINGO_DELIVERY_ROTATION_GRACE_HOURS`: how long an old signing secret still signs after a rotation. (Default: 24) */
  readonly rotationGraceMs: number;
}

export const DELIVERY_SETTINGS = [
  'FLAMINGO_DELIVERY_ATTEMPT_RETENTION_HOURS',
  'FLAMINGO_DELIVERY_REFRESH_MS',
  'FLAMINGO_DELIVERY_BREAKER_RESET_MS',
  'FLAMINGO_DELIVERY_ROTATION_GRACE_HOURS',
] as const;

const HOUR = 3_600_000;

/** Reads and checks the settings; bad values stop the start with one line each, naming the setting. */
export function readDeliverySettings(env: Readonly<Record<string, string | undefined>>): DeliverySettings {
  const problems: string[] = [];
  const read = (name: (typeof DELIVERY_SETTINGS)[number], fallback: number, min: number, max: number, unit: string): number => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name}: must be a whole number of ${unit} from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  };
  const settings = {
    attemptRetentionMs: read('FLAMINGO_DELIVERY_ATTEMPT_RETENTION_HOURS', 168, 1, 24 * 366, 'hours') * HOUR,
    refreshMs: read('FLAMINGO_DELIVERY_REFRESH_MS', 1_000, 50, 600_000, 'milliseconds'),
    breakerResetMs: read('FLAMINGO_DELIVERY_BREAKER_RESET_MS', 30_000, 100, 3_600_000, 'milliseconds'),
    rotationGraceMs: read('FLAMINGO_DELIVERY_ROTATION_GRACE_HOURS', 24, 0, 24 * 30, 'hours') * HOUR,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return settings;
}
