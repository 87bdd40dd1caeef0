/**
 * The bus, for users and services: `createBus` over an engine, the types of publishing and
 * subscribing, the errors a caller or handler meets, `retryAfter` / `failPermanently` for
 * handlers, the `handleOnce` inbox and the transactional outbox.
 *
 * Engines build on the engine kit (`src/bus/kit/index.ts`); tests find the conformance suite and
 * test databases in `src/bus/testing/index.ts`.
 */
export type {
  AnyPublishInput,
  BatchHandler,
  BatchResults,
  BatchSubscriptionOptions,
  Bus,
  DeadLetter,
  DeliveredEvent,
  Engine,
  Handler,
  HandlerContext,
  Position,
  PublishInput,
  PublishResult,
  ReadQuery,
  RetryPolicy,
  Subscription,
  SubscriptionInfo,
  SubscriptionOptions,
} from './types.ts';
export type { BusOptions } from './bus.ts';
export type { BusMiddleware, HandleCall } from './middleware.ts';
export { createBus } from './bus.ts';
export type { EventIssue, IdentityConflict } from './errors.ts';
export {
  EngineClosedError,
  EventValidationError,
  IdentityConflictError,
  InvalidOptionsError,
  PermanentFailure,
  RetryAfter,
  HeldBack,
  SubscriptionConflictError,
  UnknownEventTypeError,
  UnknownSubscriptionError,
  failPermanently,
  retryAfter,
} from './errors.ts';
export type { BusTables } from './bus-tables.ts';
export { busTablesMigration } from './bus-tables.ts';
export { handleOnce, handleOnceBatch, inboxKeyOf, markHandled, pruneInbox, type HandleOnceBatchOptions } from './handle-once.ts';
export { canonicalId } from './identity.ts';
export type { Outbox, OutboxOptions } from './outbox.ts';
export { OUTBOX_CHANNEL, createOutbox } from './outbox.ts';
