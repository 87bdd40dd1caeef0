import type { FastifyInstance, preHandlerAsyncHookHandler } from 'fastify';
import type { Logger } from 'pino';
import type { Bus } from '../bus/index.ts';
import type { DatabaseConfig } from '../platform/db.ts';
import type { Tokens } from '../platform/tokens.ts';

/** What the app hands every service when it starts it. */
export interface ServiceContext {
  readonly bus: Bus;
  /** Where the service opens its own database (`openDatabase(name, database)`). */
  readonly database: DatabaseConfig;
  /** Register the service's routes here (`http.withTypeProvider<TypeBoxTypeProvider>()`), under `/v1/…`. */
  readonly http: FastifyInstance;
  readonly logger: Logger;
  /** preHandler that answers 401/403 unless the request carries the admin key. */
  readonly requireAdmin: preHandlerAsyncHookHandler;
  /** Customer session tokens (sign in users, verify everywhere else). */
  readonly tokens: Tokens;
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
