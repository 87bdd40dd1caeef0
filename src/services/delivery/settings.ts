import { Type, type Static } from '@sinclair/typebox';

/** The delivery service's own settings (platform/settings.ts reads them from the environment). */
export const deliverySettings = Type.Object({
  FLAMINGO_DELIVERY_ATTEMPT_RETENTION_HOURS: Type.Integer({ minimum: 1, maximum: 24 * 366, default: 168, description: 'How long the attempt log keeps an attempt, in hours.' }),
  FLAMINGO_DELIVERY_REFRESH_MS: Type.Integer({ minimum: 50, maximum: 600_000, default: 1_000, description: 'How often a process rereads the targets (changes made through another process), in ms.' }),
  FLAMINGO_DELIVERY_BREAKER_RESET_MS: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 30_000, description: 'How long an open circuit waits before a probe, in ms.' }),
  FLAMINGO_DELIVERY_ROTATION_GRACE_HOURS: Type.Integer({ minimum: 0, maximum: 24 * 30, default: 24, description: 'How long an old signing secret still signs after a rotation, in hours.' }),
});

export type DeliverySettings = Static<typeof deliverySettings>;
