/**
 * The engine kit: what an engine (`src/engines/<name>/`) builds on. Everything about running a
 * subscription that does not depend on where events are stored lives here once — the key-lane
 * dispatcher, the consumer pool, delivery and the settling of outcomes, the compatibility check of
 * competing consumers — so an engine is only its storage and transport:
 *
 * 1. `append`, `read`, `head`: the durable log (events deduplicated by `source` + `id`, a resend
 *    with other content refused with `IdentityConflictError` — `identityKey`, `contentDigest` —
 *    sequences, `recordedtime`).
 * 2. `consume(options, deliver)`, options resolved by the bus: `running.attach(options, deliver,
 *    start)` on a `runningSubscriptions()` registry, where `start` opens the subscription's stored
 *    state (creating it at `options.startAt` when new) and returns the engine's half of it,
 *    `{ runner }` with `runner = createSubscriptionRunner({ options, storage, onStop })`. That half
 *    - pushes the subscription's events into the runner in log order, with `readyAt`
 *      (`recordedtime + delayMs`, or when its stored retry is due) and `attempts` (0, or the stored
 *      count), reading ahead while `runner.ready` and `runner.held` are low and again on `unitDone`;
 *    - is the runner's `SubscriptionStorage`: `ack` marks the event done, `retry` keeps attempts,
 *      error and failure times, `dead` keeps the dead letter — durably, so that a restart (or
 *      another process) continues from them;
 *    - gives back what it holds in `onStop` (the last consumer detached).
 * 3. `subscriptions` (`runner.inFlight`, `runner.consumers`), `rewind` (`runner.pause()`, move
 *    the stored position, `runner.resume()`), `deadLetters`, `retryDeadLetters`,
 *    `discardDeadLetters`, `close` (`running.closeAll()`).
 * 4. Pass the conformance suite (`src/bus/testing/index.ts`) in its integration test.
 *
 * A partitioned engine (nats, redis) spreads keys with `partitionOf`, so every engine partitions
 * a key alike.
 *
 * Users and services use `src/bus/index.ts` instead.
 */
export type {
  DeadLetter,
  Deliver,
  Engine,
  HandlerContext,
  Outcome,
  Position,
  PublishResult,
  ReadQuery,
  ResolvedRetryPolicy,
  ResolvedSubscriptionOptions,
  Subscription,
  SubscriptionInfo,
} from '../types.ts';
export type { IdentityConflict } from '../errors.ts';
export { EngineClosedError, IdentityConflictError, InvalidOptionsError, SubscriptionConflictError, UnknownSubscriptionError } from '../errors.ts';
export { contentDigest, identityKey } from '../identity.ts';
export { DEFAULT_RETRY_POLICY, backoffDelay } from '../backoff.ts';
export type { TypeSelection } from '../match.ts';
export { matchesTypes, typeSelection } from '../match.ts';
export { SUBSCRIPTION_DEFAULTS, checkPosition, integerOption, resolveSubscriptionOptions } from '../options.ts';
export { errorText } from '../deliver.ts';
export type { KeyLaneDispatcher, KeyLaneOptions, LaneItem, UnitResult } from './key-lanes.ts';
export { createKeyLaneDispatcher } from './key-lanes.ts';
export type { ConsumerPool, ConsumerPoolOptions, PooledConsumer } from './consumer-pool.ts';
export { createConsumerPool } from './consumer-pool.ts';
export type { DeadVerdict, RetryVerdict, RunnerItem, SubscriptionStorage } from './deliver-unit.ts';
export { NO_OUTCOME } from './deliver-unit.ts';
export type { SubscriptionRunner, SubscriptionRunnerOptions } from './subscription-runner.ts';
export { createSubscriptionRunner } from './subscription-runner.ts';
export { assertCompatible, conflictsOf } from './compatibility.ts';
export type { RunningSubscriptions, RunsSubscription } from './running-subscriptions.ts';
export { runningSubscriptions } from './running-subscriptions.ts';
export { fnv1a32, partitionOf } from './partition.ts';
