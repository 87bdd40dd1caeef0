/**
 * The engine kit: what an engine (`src/engines/<name>/`) builds on. Everything about running a
 * subscription that does not depend on where events are stored lives here once — the key-lane
 * dispatcher, the consumer pool, delivery and the settling of outcomes, the compatibility check of
 * competing consumers — so an engine is only its storage and transport:
 *
 * 1. `append`, `read`, `head`: the durable log (ids deduplicated, sequences, `recordedtime`).
 * 2. `consume(options, deliver)`: options come resolved by the bus. Attach through
 *    `RunningSubscriptions.attach`, whose `start` creates the subscription's stored state at
 *    `options.startAt` when new and a `createSubscriptionRunner` fed by the engine: it pushes
 *    the subscription's events (in log order, with `readyAt` and stored attempts) and implements
 *    `SubscriptionStorage` — ack, retry state, dead letters — durably.
 * 3. `subscriptions`, `rewind` (`pause` the runner, move the stored position, `resume`),
 *    `deadLetters`, `retryDeadLetters`, `discardDeadLetters`, `close` (`closeAll`).
 * 4. Pass the conformance suite (`src/bus/testing/`) in an integration test.
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
export { EngineClosedError, InvalidOptionsError, SubscriptionConflictError, UnknownSubscriptionError } from '../errors.ts';
export { DEFAULT_RETRY_POLICY, backoffDelay } from '../backoff.ts';
export type { TypeSelection } from '../match.ts';
export { matchesTypes, typeSelection } from '../match.ts';
export { SUBSCRIPTION_DEFAULTS, checkPosition, resolveSubscriptionOptions } from '../options.ts';
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
