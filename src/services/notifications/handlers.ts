/**
 * What notifications reacts to, in two lanes (issue 9, seed 002): `immediate` types (the catalog's
 * urgency: `payment.failed`, `user.banned`) have a subscription of their own, so a backlog of
 * background events — which wait in the other subscription's position — never stands in front of
 * them. Each lane is a consumer group with its own position and concurrency; both write through the
 * same `handleOnce` inbox, so each event makes one notification whichever lane sees it.
 */
import { declarationFor, type EventType, type ReadDeclaration } from '../../contracts/index.ts';
import { RULE_TYPES, notificationsReads, urgencyOf, type NotificationsReads } from './rules.ts';

export interface Lane {
  /** The subscription, `notifications.<lane>`. */
  readonly name: string;
  /** What the lane reads: its part of `notificationsReads`. */
  readonly reads: ReadDeclaration<NotificationsReads>;
  readonly concurrency: number;
}

/** Types read only to learn who customers are and which orders they own. */
const LEARNT: readonly EventType[] = ['user.registered', 'user.updated', 'order.placed'];

export function notificationLanes(): readonly [Lane, Lane] {
  const immediate = RULE_TYPES.filter((t) => urgencyOf(t) === 'immediate');
  const background = [...new Set([...RULE_TYPES.filter((t) => urgencyOf(t) !== 'immediate'), ...LEARNT])];
  return [
    { name: 'notifications.immediate', reads: declarationFor(notificationsReads, 'notifications.immediate', immediate), concurrency: 8 },
    { name: 'notifications.background', reads: declarationFor(notificationsReads, 'notifications.background', background), concurrency: 4 },
  ];
}
