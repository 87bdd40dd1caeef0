/**
 * Feeds the platform's revocation list from the log (issue 7 item 3): `user.banned` revokes a
 * customer's session tokens, `user.unbanned` restores them. One subscription shared by every
 * process (a consumer group); the list is in the platform database, which every process reads,
 * so a ban reaches every process's customer guard within its cache time (100 ms).
 */
import type { Bus, Subscription } from '../bus/index.ts';
import { declareReads, type ReadEvent, type ReadsOf } from '../contracts/index.ts';
import type { RevocationStore } from '../platform/auth/index.ts';
import type { Logger } from '../platform/logger.ts';

/** The subscription's name. */
export const REVOCATIONS_SUBSCRIPTION = 'flamingo.customer-revocations';

/**
 * Subscribes the revocation list to bans and unbans from the beginning of the log. Applying is
 * idempotent and ordered by log position, so a redelivery or a rewind changes nothing.
 */
/** What the revocation feed reads (issue 14). */
export const revocationsReads = declareReads(REVOCATIONS_SUBSCRIPTION, { 'user.banned': ['userId', 'reason', 'until'], 'user.unbanned': ['userId', 'reason'] });

export function feedRevocations(bus: Bus, store: RevocationStore, logger: Logger): Promise<Subscription> {
  return bus.subscribe({ name: REVOCATIONS_SUBSCRIPTION, types: revocationsReads.types, startAt: 'beginning', concurrency: 4 }, async (delivered) => {
    const event: ReadEvent<ReadsOf<typeof revocationsReads>> = delivered;
    const banned = event.type === 'user.banned';
    const applied = await store.apply({
      userId: event.data.userId,
      revoked: banned,
      sequence: event.sequence,
      ...(event.data.reason === undefined ? {} : { reason: event.data.reason }),
      ...(banned && event.data.until !== undefined ? { until: event.data.until } : {}),
    });
    if (applied) logger.info({ userId: event.data.userId, id: event.id, type: event.type }, banned ? 'customer tokens revoked' : 'customer tokens restored');
  });
}
