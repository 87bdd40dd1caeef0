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
export type { BusTables } from './bus-tables.ts';
export { busTablesMigration } from './bus-tables.ts';
export { handleOnce, handleOnceBatch, markHandled, pruneInbox, type HandleOnceBatchOptions } from './handle-once.ts';
export type { Outbox, OutboxOptions } from './outbox.ts';
export { OUTBOX_CHANNEL, createOutbox } from './outbox.ts';
