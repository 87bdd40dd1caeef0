import type { CloudEvent, EventData, EventType, ExtensionValue, UnstoredEvent } from '../contracts/index.ts';

/** Where a subscription starts reading, or where `rewind` moves it. */
export type Position =
  | 'beginning'
  | 'now'
  /** Every event recorded at or after this instant. */
  | { readonly time: Date | string }
  /** Every event whose sequence is greater than or equal to this one. */
  | { readonly sequence: number };

/** How a failing handler is retried (exponential backoff with full jitter). */
export interface RetryPolicy {
  /** Deliveries before the event goes to dead letters, the first one included. (Default: 10) */
  readonly maxAttempts?: number;
  /** Delay before the second attempt. (Default: 200 ms) */
  readonly initialDelayMs?: number;
  /** Upper bound of any delay. (Default: 60 000 ms) */
  readonly maxDelayMs?: number;
  /** Growth per attempt. (Default: 2) */
  readonly factor?: number;
  /** Share of the delay that is random, 0–1: delay × (1 − jitter × random). (Default: 0.5) */
  readonly jitter?: number;
}

/** A retry policy with every default filled in. */
export type ResolvedRetryPolicy = Required<RetryPolicy>;

export interface SubscriptionOptions<T extends EventType = EventType> {
  /**
   * The subscription (consumer group) name. Every subscription gets every matching event
   * (fan-out); handlers registered under the same name share its events (competing consumers).
   */
  readonly name: string;
  /** Event types or patterns: `order.placed`, `order.*`, `*`. */
  readonly types: readonly (T | `${string}.*` | '*')[];
  /**
   * Where a subscription that has never run starts; ignored once it has a position (use `rewind`).
   * (Default: 'beginning', so a new projection is built from history)
   */
  readonly startAt?: Position;
  /** Events handled at once by this process. (Default: 1) */
  readonly concurrency?: number;
  /**
   * `key`: events with the same partition key are handled one at a time in log order, and a
   * retrying event holds back later events of its key. `none`: no order at all. (Default: 'key')
   */
  readonly ordering?: 'key' | 'none';
  readonly retry?: RetryPolicy;
  /** Delayed subscription (seed 003): an event is handled no earlier than `recordedtime + delayMs`. (Default: 0) */
  readonly delayMs?: number;
}

export interface BatchSubscriptionOptions<T extends EventType = EventType> extends SubscriptionOptions<T> {
  /** Most events handed to one call. (Default: 500) */
  readonly maxBatchSize?: number;
  /** How long to wait for more events once one is ready. (Default: 0 — whatever is there) */
  readonly maxWaitMs?: number;
}

/**
 * Subscription options with every default filled in and checked (`resolveSubscriptionOptions`):
 * what the bus hands an engine's `consume`.
 */
export interface ResolvedSubscriptionOptions {
  readonly name: string;
  /** `single`: one event per handler call (`subscribe`); `batch`: many (`subscribeBatch`). */
  readonly mode: 'single' | 'batch';
  readonly types: readonly string[];
  readonly startAt: Position;
  readonly concurrency: number;
  readonly ordering: 'key' | 'none';
  readonly retry: ResolvedRetryPolicy;
  readonly delayMs: number;
  /** 1 in `single` mode. */
  readonly maxBatchSize: number;
  readonly maxWaitMs: number;
}

/** A stored event of any catalog type; `data` is typed from the schema once `type` is narrowed. */
export type DeliveredEvent<T extends EventType = EventType> = {
  [K in T]: CloudEvent<K, EventData<K>>;
}[T];

export interface HandlerContext {
  readonly subscription: string;
  /** 1 on first delivery. */
  readonly attempt: number;
}

/** A handler returns to ack; throws to be retried; throws `retryAfter(ms)` or `failPermanently(reason)` to say how. */
export type Handler<T extends EventType = EventType> = (event: DeliveredEvent<T>, context: HandlerContext) => Promise<void> | void;
/**
 * Per-event results of a batch handler, in the order of its events: `undefined` acks the event;
 * anything else is what a single handler would have thrown for it (an error is retried with the
 * policy's backoff, `retryAfter(ms)` then, `failPermanently` goes to dead letters).
 */
export type BatchResults = readonly unknown[];
/**
 * All events of one call are acked together, or retried together when it throws; or it returns
 * `BatchResults` with one result per event.
 */
export type BatchHandler<T extends EventType = EventType> = (
  events: readonly DeliveredEvent<T>[],
  context: HandlerContext,
) => Promise<void | BatchResults> | void | BatchResults;

/** What became of one delivery; the bus turns handler results into these for the engine. */
export type Outcome =
  | { readonly kind: 'ack' }
  /** Retry; `delayMs` overrides the policy's backoff (from `retryAfter`). */
  | { readonly kind: 'retry'; readonly error: string; readonly delayMs?: number }
  /** Straight to dead letters, whatever attempts are left. */
  | { readonly kind: 'dead'; readonly error: string }
  /**
   * Not handled: an earlier event of its key failed in the same batch (`HeldBack`). Delivered again
   * with that event's retry, behind it; no attempt counted, no retry state kept.
   */
  | { readonly kind: 'held'; readonly error: string };

export interface PublishInput<T extends EventType = EventType> {
  readonly type: T;
  readonly data: EventData<T>;
  /** UUIDv7 when absent. */
  readonly id?: string;
  /** (Default: `/flamingo`) */
  readonly source?: string;
  /** When it happened. (Default: now) */
  readonly time?: string;
  /** (Default: derived from the catalog key, `<noun>/<key>`) */
  readonly subject?: string;
  /** (Default: derived from the catalog key) */
  readonly partitionkey?: string;
  readonly traceparent?: string;
  readonly tracestate?: string;
  readonly correlationid?: string;
  readonly causationid?: string;
  /**
   * The version of `data`, `flamingo:<type>/v<version>`. (Default: the catalog's current version)
   * An older version is accepted while the catalog keeps it deprecated (issue 14), and `data` is then
   * checked against that version's schema; any other value throws `EventValidationError` at `/dataschema`.
   */
  readonly dataschema?: string;
  /**
   * CloudEvents extension attributes (`{ shopregion: 'eu', pubsubname: 'orders' }`), stored as
   * top-level attributes of the event and shown to handlers, reads and deliveries (`extensionsOf`).
   * Names: 1–64 lower-case letters and digits, not an envelope attribute; values: string (≤ 4 096
   * characters), boolean or 32-bit integer. A bad one throws `EventValidationError` at `/<name>`.
   */
  readonly extensions?: Readonly<Record<string, ExtensionValue>>;
}

/**
 * A publish input of any type, for lists: either typed for one event type (`PublishInput<'order.placed'>`,
 * so a list may mix types) or typed only as "some catalog type" (checked at run time).
 */
export type AnyPublishInput = PublishInput | { [K in EventType]: PublishInput<K> }[EventType];

export interface PublishResult {
  readonly id: string;
  readonly sequence: number;
  /** The event (`source` + `id`, same content) was already in the log; the first one's result is returned and nothing changes. */
  readonly duplicate: boolean;
}

export interface SubscriptionInfo {
  readonly name: string;
  readonly types: readonly string[];
  /** Highest sequence below which every matching event is done (handled or dead-lettered). */
  readonly position: number;
  /**
   * Matching events after `position` not yet done that are due: a delayed subscription's events
   * still waiting for their delay are `scheduled` instead. (On Redis, and on NATS JetStream before
   * 2.10 with several types, events of other types not yet read count too.)
   */
  readonly lag: number;
  /** Events whose handlers run now (on NATS JetStream, also events fetched ahead and due). */
  readonly inFlight: number;
  readonly retrying: number;
  readonly deadLetters: number;
  /**
   * Events a delayed subscription (`delayMs`) holds until `recordedtime + delayMs`: recorded less
   * than the delay ago and not done. Not lag: nothing is behind. (0 without a delay)
   */
  readonly scheduled: number;
  /**
   * Handlers attached, across every process (one `subscribe` call each; a process that vanished
   * drops out after the engine's lease time). On SQLite one process owns the log.
   */
  readonly consumers: number;
}

export interface DeadLetter {
  readonly subscription: string;
  readonly event: CloudEvent;
  readonly error: string;
  readonly attempts: number;
  readonly firstFailedAt: string;
  readonly lastFailedAt: string;
}

export interface ReadQuery {
  /** Exact types or patterns. */
  readonly types?: readonly string[];
  readonly subject?: string;
  /** Only events with a greater sequence. (Default: 0) */
  readonly afterSequence?: number;
  /** Only events recorded at or after / before these instants. */
  readonly since?: Date | string;
  readonly until?: Date | string;
  /** (Default: 100, at most 1 000) */
  readonly limit?: number;
}

/** A running subscription handle in this process. */
export interface Subscription {
  readonly name: string;
  /** Stops delivering to this handler; in-flight handlers finish first. */
  close(): Promise<void>;
}

/**
 * One durable, ordered log with consumer groups. Both engines (sqlite, nats) implement it on the
 * engine kit (`src/bus/kit/index.ts`, which says how) and pass `src/bus/testing/engine-conformance.ts`.
 * The bus builds envelopes, validates, types and resolves options; the engine stores and delivers.
 */
export interface Engine {
  readonly name: string;
  /**
   * Stores the events durably, all or none, and resolves once they are on disk. An event whose
   * `source` + `id` is already in the log (CloudEvents identity; engines with a duplicate window
   * remember it that long) is not stored again: with the same content (`contentDigest`) its original
   * sequence is returned with `duplicate: true`; with other content the call rejects with
   * `IdentityConflictError` naming the stored sequence.
   */
  append(events: readonly UnstoredEvent[]): Promise<PublishResult[]>;
  /** Events in log order. */
  read(query: ReadQuery): Promise<CloudEvent[]>;
  /** The sequence of the last stored event (0 when empty). */
  head(): Promise<number>;
  /**
   * Attaches a consumer to subscription `options.name`, creating it at `startAt` when new. The
   * engine delivers matching events following the subscription's ordering, concurrency, delay and
   * retry policy, and records dead letters. `deliver` never throws: it resolves to an outcome per event.
   * The options come resolved and checked by the bus. A consumer whose options contradict those of
   * the subscription already running in this process (anything but `concurrency` and `startAt`) is
   * refused with `SubscriptionConflictError`.
   */
  consume(options: ResolvedSubscriptionOptions, deliver: Deliver): Promise<Subscription>;
  subscriptions(): Promise<SubscriptionInfo[]>;
  /**
   * Moves the subscription so its next event is the first at `to` (checked by the bus); pending
   * retries are dropped (dead letters already sent back by `retryDeadLetters` are still redelivered).
   */
  rewind(subscription: string, to: Position): Promise<void>;
  deadLetters(subscription: string, options?: { limit?: number; afterSequence?: number }): Promise<DeadLetter[]>;
  /** Redelivers dead letters (one by event id, or all) as fresh first attempts; resolves to how many. */
  retryDeadLetters(subscription: string, eventId?: string): Promise<number>;
  /** Deletes dead letters (one by event id, or all); resolves to how many. */
  discardDeadLetters(subscription: string, eventId?: string): Promise<number>;
  close(): Promise<void>;
}

/** Hands events to the bus; in `single` mode `events` has one element. One outcome per event. */
export type Deliver = (events: readonly CloudEvent[], context: HandlerContext) => Promise<readonly Outcome[]>;

/** The typed face of the bus that services, the collector and the CLI use. */
export interface Bus {
  readonly engine: Engine;
  /**
   * Validates `data` against the catalog, builds the envelope and resolves once the event is
   * durable. Throws `UnknownEventTypeError` or `EventValidationError` and stores nothing on bad input;
   * `IdentityConflictError` when its `source` + `id` is stored with other content.
   */
  publish<T extends EventType>(event: PublishInput<T>): Promise<PublishResult>;
  /** An input typed as one of several types (`PublishInput<'a'> | PublishInput<'b'>`) or known only at run time. */
  publish(event: AnyPublishInput): Promise<PublishResult>;
  /** Like `publish` for many events, all or none: one invalid event rejects the whole call. */
  publishAll(events: readonly AnyPublishInput[]): Promise<PublishResult[]>;
  subscribe<T extends EventType>(options: SubscriptionOptions<T>, handler: Handler<T>): Promise<Subscription>;
  subscribeBatch<T extends EventType>(options: BatchSubscriptionOptions<T>, handler: BatchHandler<T>): Promise<Subscription>;
  read(query: ReadQuery): Promise<CloudEvent[]>;
  subscriptions(): Promise<SubscriptionInfo[]>;
  rewind(subscription: string, to: Position): Promise<void>;
  deadLetters(subscription: string, options?: { limit?: number; afterSequence?: number }): Promise<DeadLetter[]>;
  retryDeadLetters(subscription: string, eventId?: string): Promise<number>;
  discardDeadLetters(subscription: string, eventId?: string): Promise<number>;
  /** Closes subscriptions, then the engine. */
  close(): Promise<void>;
}
