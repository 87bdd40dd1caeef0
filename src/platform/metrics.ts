import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the subscription gauges read at each scrape; the app plugs the bus in. */
export interface SubscriptionGaugeSource {
  (): Promise<readonly { name: string; lag: number; lagSeconds?: number; inFlight: number; retrying: number; deadLetters: number; scheduled?: number }[]>;
}

/** What the circuit gauge reads at each scrape: each delivery target's circuit in this process. */
export interface CircuitSource {
  (): readonly { target: string; state: string; limitPerSecond?: number }[];
}

/** What a service may feed (`ServiceContext.metrics`). */

/** Flamingo's Prometheus metrics, served at `GET /metrics`. */
export interface Metrics {
  readonly registry: Registry;
  /** `flamingo_events_published_total{type}`: events stored through the collector (duplicates not counted). */
  readonly eventsPublished: Counter<'type'>;
  /** `flamingo_http_request_duration_seconds{method,route,status}`. */
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  /**
   * `flamingo_handler_duration_seconds{subscription,outcome}`: each handler call (one event or one
   * batch), `outcome` `ack` or `error` (retried or dead-lettered by the bus); fed by a bus middleware.
   */
  readonly handlerDuration: Histogram<'subscription' | 'outcome'>;
  /** `flamingo_collector_requests_total{route,status}`: requests to the collector's routes by HTTP status. */
  readonly collectorRequests: Counter<'route' | 'status'>;
  /**
   * `flamingo_events_handled_total{subscription,outcome}`: events handed to a handler (each event
   * of a batch counts), `outcome` `ack` or `error`.
   */
  readonly eventsHandled: Counter<'subscription' | 'outcome'>;
  /** `flamingo_handler_retries_total{subscription}`: handler calls that were a redelivery (attempt > 1). */
  readonly handlerRetries: Counter<'subscription'>;
  /**
   * `flamingo_event_end_to_end_seconds{subscription}`: from the event's `recordedtime` (stored by
   * the bus) to its handler returning successfully, in seconds.
   */
  readonly endToEnd: Histogram<'subscription'>;
  /**
   * `flamingo_outbox_backlog{service}`: events in a service's outbox not yet published, read from
   * `backlog` at scrape time. Resolves the returned function to stop watching (on the service's stop).
   */
  watchOutbox(service: string, backlog: () => Promise<number>): () => void;
  /**
   * `flamingo_delivery_circuit_state{target,state}`: 1 for each delivery target's current circuit
   * state in this process (`closed`, `open`, `halfOpen`), 0 for the other two; read at scrape time.
   */
  watchCircuits(circuits: CircuitSource): () => void;
  /** `flamingo_mail_backlog`: emails waiting to be sent, read from `backlog` at scrape time. */
  watchMailBacklog(backlog: () => Promise<number>): () => void;
  /**
   * `flamingo_delivery_attempts_total{target,outcome}`: requests to delivery targets, `outcome`
   * `delivered`, `throttled` (429 / THROTTLED), `retrying` or `failed`.
   */
  readonly deliveryAttempts: Counter<'target' | 'outcome'>;
  /** Sets where the `flamingo_subscription_*` gauges read from at scrape time. */
  watchSubscriptions(source: SubscriptionGaugeSource): void;
  /**
   * A consumer's own figures about its subscription (e.g. the warehouse's rows landed and last
   * landed sequence), shown as `details` beside the subscription in `GET /v1/subscriptions`.
   */
  describeSubscription(name: string, details: () => Readonly<Record<string, number>>): void;
  /** The details described for `name`, if any. */
  subscriptionDetails(name: string): Readonly<Record<string, number>> | undefined;
}

/**
 * A registry of its own (so tests and several servers in one process do not collide), with Node's
 * default process metrics.
 */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Gauges named like counters break Prometheus' naming rule (`promtool check metrics` refuses
  // them); prom-client offers no way to rename a default metric, so these three are left out.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  let source: SubscriptionGaugeSource | undefined;
  const details = new Map<string, () => Readonly<Record<string, number>>>();

  const eventsPublished = new Counter({
    name: 'flamingo_events_published_total',
    help: 'Events stored through the collector, by type (duplicates not counted).',
    labelNames: ['type'] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'flamingo_http_request_duration_seconds',
    help: 'HTTP request durations, by method, route and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });

  const handlerDuration = new Histogram({
    name: 'flamingo_handler_duration_seconds',
    help: 'Handler calls (one event or one batch) by subscription and outcome (ack, error).',
    labelNames: ['subscription', 'outcome'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  const collectorRequests = new Counter({
    name: 'flamingo_collector_requests_total',
    help: 'Requests to the collector routes, by route and HTTP status.',
    labelNames: ['route', 'status'] as const,
    registers: [registry],
  });
  const eventsHandled = new Counter({
    name: 'flamingo_events_handled_total',
    help: 'Events handed to a handler (each event of a batch counts), by subscription and outcome (ack, error).',
    labelNames: ['subscription', 'outcome'] as const,
    registers: [registry],
  });
  const handlerRetries = new Counter({
    name: 'flamingo_handler_retries_total',
    help: 'Handler calls that were redeliveries (attempt above 1), by subscription.',
    labelNames: ['subscription'] as const,
    registers: [registry],
  });
  const endToEnd = new Histogram({
    name: 'flamingo_event_end_to_end_seconds',
    help: 'From the time the bus stored an event (recordedtime) to its handler succeeding, by subscription.',
    labelNames: ['subscription'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
    registers: [registry],
  });

  const outboxes = new Map<string, () => Promise<number>>();
  new Gauge({
    name: 'flamingo_outbox_backlog',
    help: "Events in a service's transactional outbox not yet published, by service.",
    labelNames: ['service'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const [service, backlog] of outboxes) this.set({ service }, await backlog().catch(() => Number.NaN));
    },
  });
  const circuitSources = new Set<CircuitSource>();
  new Gauge({
    name: 'flamingo_delivery_circuit_state',
    help: "Each delivery target's circuit in this process: 1 for its current state (closed, open, halfOpen), 0 for the others.",
    labelNames: ['target', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const source of circuitSources)
        for (const { target, state } of source()) for (const s of ['closed', 'open', 'halfOpen']) this.set({ target, state: s }, s === state ? 1 : 0);
    },
  });

  let mailBacklog: (() => Promise<number>) | undefined;
  new Gauge({
    name: 'flamingo_mail_backlog',
    help: 'Emails in the notifications email outbox waiting to be sent.',
    registers: [registry],
    async collect() {
      this.reset();
      if (mailBacklog) this.set(await mailBacklog().catch(() => Number.NaN));
    },
  });
  const deliveryAttempts = new Counter({
    name: 'flamingo_delivery_attempts_total',
    help: 'Requests to delivery targets, by target and outcome (delivered, throttled, retrying, failed).',
    labelNames: ['target', 'outcome'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'flamingo_delivery_rate_limit_per_second',
    help: "Each delivery target's rate limit, in requests per second.",
    labelNames: ['target'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const source of circuitSources) for (const { target, limitPerSecond } of source()) if (limitPerSecond !== undefined) this.set({ target }, limitPerSecond);
    },
  });

  type Field = 'lag' | 'lagSeconds' | 'inFlight' | 'retrying' | 'deadLetters' | 'scheduled';
  const gauge = (name: string, help: string, field: Field) =>
    new Gauge({
      name,
      help,
      labelNames: ['subscription'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        if (!source) return;
        for (const s of await source()) if (s[field] !== undefined) this.set({ subscription: s.name }, s[field]);
      },
    });
  gauge('flamingo_subscription_lag', 'Matching events due and not yet handled, by subscription.', 'lag');
  gauge('flamingo_subscription_lag_seconds', 'Age of the oldest matching event not yet handled (0 when none), in seconds, by subscription.', 'lagSeconds');
  gauge('flamingo_subscription_in_flight', 'Events being handled now, by subscription.', 'inFlight');
  gauge('flamingo_subscription_retrying', 'Events waiting for a retry, by subscription.', 'retrying');
  gauge('flamingo_subscription_dead_letters', 'Dead letters, by subscription.', 'deadLetters');
  gauge('flamingo_subscription_scheduled', "Events a delayed subscription holds until their delay has passed (not lag), by subscription.", 'scheduled');

  return {
    registry,
    eventsPublished,
    httpDuration,
    handlerDuration,
    collectorRequests,
    eventsHandled,
    handlerRetries,
    endToEnd,
    deliveryAttempts,
    watchOutbox(service, backlog) {
      outboxes.set(service, backlog);
      return () => {
        if (outboxes.get(service) === backlog) outboxes.delete(service);
      };
    },
    watchMailBacklog(backlog) {
      mailBacklog = backlog;
      return () => {
        if (mailBacklog === backlog) mailBacklog = undefined;
      };
    },
    watchCircuits(circuits) {
      circuitSources.add(circuits);
      return () => circuitSources.delete(circuits);
    },
    watchSubscriptions(next) {
      source = next;
    },
    describeSubscription(name, read) {
      details.set(name, read);
    },
    subscriptionDetails(name) {
      return details.get(name)?.();
    },
  };
}
