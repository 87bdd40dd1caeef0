import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Bus } from '../bus/index.ts';
import type { ConsumerContract } from '../contracts/index.ts';
import type { ContractStore } from '../platform/auth/index.ts';
import type { DatabaseConfig } from '../platform/db.ts';
import type { Metrics } from '../platform/metrics.ts';
import type { TraceHeaders } from '../platform/tracing.ts';
import type { SettingsSchema } from '../platform/settings.ts';
import type { Tokens } from '../platform/tokens.ts';

/** What the app hands every service when it starts it. */
export interface ServiceContext {
  readonly bus: Bus;
  /** Where the service opens its own database (`openDatabase(name, database)`). */
  readonly database: DatabaseConfig;
  /**
   * Register the service's routes here (`http.withTypeProvider<TypeBoxTypeProvider>()`), under
   * `/v1/…`. Every route declares who may call it, `config: { auth: 'admin' | 'customer' | … }`
   * (`RouteAuth` of platform/auth); the app's guard authenticates before the body is read and
   * hands the route `request.principal`.
   */
  readonly http: FastifyInstance;
  readonly logger: Logger;
  /** Customer session tokens: the users service signs them in; the guard verifies them everywhere. */
  readonly tokens: Tokens;
  /**
   * Prometheus metrics (`GET /metrics`): a service registers its own on `metrics.registry` and has
   * its gauges read at scrape (`watchOutbox`, `watchCircuits`, `watchMailBacklog`).
   */
  readonly metrics: Metrics;
  /**
   * Consumer contracts from outside the code (issue 14), in the platform database: a service whose
   * consumers are configured at run time (delivery's targets) registers theirs here.
   */
  readonly contracts: ContractStore;
  /**
   * The environment (and `flamingo.config.json`): a service reads its declared settings from it with
   * `readSettings(definition.settings, env)`; the app has checked them before starting anything.
   */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** How long the service's inbox remembers handled events (`FLAMINGO_INBOX_RETENTION_MS`). (Default: `DEFAULT_INBOX_RETENTION_MS`, 7 days) */
  readonly inboxRetentionMs?: number;
  /**
   * The active trace context (`traceparent`/`tracestate`), when tracing is on: stamped on every
   * event the service adds to its outbox, so its reactions stay in the trace that caused them. (Default: none)
   */
  readonly traceContext?: () => TraceHeaders;
  /**
   * What the service runs in this process, in the terms of commerce platforms' worker modes (Medusa's
   * `workerMode`): `shared`, its routes and its reactions and workers (subscriptions, timers, senders,
   * delivery); `server`, its routes only (and its outbox relay, so what its routes write is published
   * from here too), while another process runs its reactions and workers on the same database.
   * `flamingo start --services a,b` runs a and b `shared` and, when the services' databases are shared
   * (PostgreSQL), every other service `server`. (Default: `shared`)
   */
  readonly workerMode?: WorkerMode;
}

/** See `ServiceContext.workerMode`. */
export type WorkerMode = 'shared' | 'server';

export interface RunningService {
  /** Stops subscriptions and relays, closes the database. */
  stop(): Promise<void>;
}

/**
 * One bounded context: `src/services/<name>/index.ts` exports `<name>Service(options)` returning
 * one of these (and `<name>Migrations`, `<name>Settings` where it has them).
 */
export interface ServiceDefinition {
  readonly name: string;
  /**
   * What each of its subscriptions reads (issue 14): one declaration per subscription, the same
   * object its `subscribe`/`react` call takes. `flamingo catalog check` and `GET /v1/catalog` read
   * these; a test holds every running subscription to one.
   */
  readonly reads: readonly ConsumerContract[];
  /** The service's own settings (environment variable names to schemas, platform/settings.ts). (Default: none) */
  readonly settings?: SettingsSchema;
  start(context: ServiceContext): Promise<RunningService>;
}
