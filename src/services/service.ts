import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Bus } from '../bus/index.ts';
import type { DatabaseConfig } from '../platform/db.ts';
import type { Metrics } from '../platform/metrics.ts';
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
  /** Prometheus metrics (`GET /metrics`): a service registers its own on `metrics.registry`. */
  readonly metrics: Metrics;
  /** Service settings from the environment (e.g. `FLAMINGO_PAYMENT_TIMEOUT_MS`), already validated by the app. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface RunningService {
  /** Stops subscriptions and relays, closes the database. */
  stop(): Promise<void>;
}

/** One bounded context: `src/services/<name>/index.ts` exports one of these. */
export interface ServiceDefinition {
  readonly name: string;
  start(context: ServiceContext): Promise<RunningService>;
}
