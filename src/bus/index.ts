export type {
  AnyPublishInput,
  BatchHandler,
  BatchSubscriptionOptions,
  Bus,
  DeadLetter,
  Deliver,
  DeliveredEvent,
  Engine,
  Handler,
  HandlerContext,
  Outcome,
  Position,
  PublishInput,
  PublishResult,
  ReadQuery,
  ResolvedRetryPolicy,
  ResolvedSubscriptionOptions,
  RetryPolicy,
  Subscription,
  SubscriptionInfo,
  SubscriptionOptions,
} from './types.ts';
export type { BusOptions } from './bus.ts';
export { createBus } from './bus.ts';
export type { EventIssue } from './errors.ts';
export {
  EngineClosedError,
  EventValidationError,
  InvalidOptionsError,
  PermanentFailure,
  RetryAfter,
  SubscriptionConflictError,
  UnknownEventTypeError,
  UnknownSubscriptionError,
  failPermanently,
  retryAfter,
} from './errors.ts';
export type { UncheckedPublishInput } from './envelope.ts';
export { DEFAULT_SOURCE, buildEvent, buildEvents } from './envelope.ts';
export { newEventId } from './event-id.ts';
export { DEFAULT_RETRY_POLICY, backoffDelay } from './backoff.ts';
export type { TypeSelection } from './match.ts';
export { matchesTypes, typeSelection } from './match.ts';
export { SUBSCRIPTION_DEFAULTS, checkPosition, resolveSubscriptionOptions } from './options.ts';
export type { KeyLaneDispatcher, KeyLaneOptions, LaneItem, UnitResult } from './kit/key-lanes.ts';
export { createKeyLaneDispatcher } from './kit/key-lanes.ts';
export { batchDeliver, errorText, outcomeOf, rejectionOf, singleDeliver } from './deliver.ts';
export type { BusTables } from './bus-tables.ts';
export { busTablesMigration } from './bus-tables.ts';
export { handleOnce, markHandled, pruneInbox } from './handle-once.ts';
export type { Outbox, OutboxOptions } from './outbox.ts';
export { OUTBOX_CHANNEL, createOutbox } from './outbox.ts';
