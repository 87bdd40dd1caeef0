import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { adminRoutes } from '../admin/index.ts';
import { createBus, type Bus, type BusMiddleware } from '../bus/index.ts';
import { collectorRoutes, DEFAULT_LIMITS, type CollectLimits } from '../collector/index.ts';
import { contractStore, createGuard, keyStore, openPlatformDatabase, revocationStore, sessionRoutes } from '../platform/auth/index.ts';
import { codeContracts } from './contracts.ts';
import { ConfigError, type FlamingoConfig } from '../platform/config.ts';
import { createHttpServer } from '../platform/http.ts';
import { createLogger, type Logger } from '../platform/logger.ts';
import { createMetrics, type Metrics } from '../platform/metrics.ts';
import { readOrCreateSecret, type Secret } from '../platform/secrets.ts';
import { readSettingsInto } from '../platform/settings.ts';
import { createTokens } from '../platform/tokens.ts';
import { auditProjection, services as allServices, type RunningService, type ServiceDefinition, type WorkerMode } from '../services/index.ts';
import { handlerMetrics } from './bus-metrics.ts';
import { busTracing, handlerLogFields } from './bus-tracing.ts';
import { createTracing, type Tracing } from '../platform/tracing.ts';
import { openEngine } from './engine.ts';
import { feedRevocations } from './revocations.ts';
import { VERSION } from './version.ts';

export { VERSION };

export interface StartOptions {
  /** The services to choose from. (Default: every service of `src/services/index.ts`) */
  readonly registry?: readonly ServiceDefinition[];
  /** A logger to use instead of one built from `config.logLevel` (tests). */
  readonly logger?: Logger;
  /** Collector limits. (Default: 64 KiB per event, 1 000 events per batch) */
  readonly limits?: CollectLimits;
  /** The platform database (producer keys, revoked customers): SQLite file stem or PostgreSQL schema. (Default: `flamingo`) */
  readonly platformDatabase?: string;
  /** The web pages' files, served at `/web/` when the directory exists. (Default: `web/` of this checkout) */
  readonly webRoot?: string;
  /** How often the console's overview samples the head and the lags, in milliseconds (tests). (Default: 10 000) */
  readonly overviewIntervalMs?: number;
}

/** `web/` beside `src/`. */
const WEB_ROOT = fileURLToPath(new URL('../../web/', import.meta.url));

/** A running Flamingo process. */
export interface RunningFlamingo {
  /** `http://<host>:<port>` as bound (a loopback address when listening on every interface). */
  readonly url: string;
  readonly port: number;
  readonly adminKey: Secret;
  readonly bus: Bus;
  readonly http: FastifyInstance;
  /** The services whose reactions and workers run in this process, by name. */
  readonly services: readonly string[];
  /** The services whose routes this process serves, by name: every service when their databases are shared (PostgreSQL), else `services`. */
  readonly served: readonly string[];
  /** Stops taking requests, lets in-flight ones finish, stops the services, closes the bus. Idempotent. */
  close(): Promise<void>;
}

/** The services to run: `config.services` (or all) from the registry, plus the audit projection when enabled. */
export function selectServices(config: FlamingoConfig, registry: readonly ServiceDefinition[]): ServiceDefinition[] {
  const selected = config.services === undefined ? [...registry] : [];
  if (config.services !== undefined) {
    const known = registry.map((s) => s.name);
    const unknown = config.services.filter((name) => !known.includes(name));
    if (unknown.length > 0) {
      throw new ConfigError([`FLAMINGO_SERVICES: unknown service ${unknown.map((u) => `"${u}"`).join(', ')} (known: ${known.join(', ') || 'none'})`]);
    }
    for (const service of registry) if (config.services.includes(service.name)) selected.push(service);
  }
  if (config.auditProjection) selected.push(auditProjection);
  return selected;
}

/**
 * The services this process starts, each with its worker mode: the selected ones `shared` (routes,
 * reactions and workers); with the services' databases shared (`DATABASE_URL`), every other service
 * of the registry `server` (its routes only), so every process answers the whole HTTP API. On SQLite
 * a service's database is a file of this process, so it serves only what it runs; and
 * `FLAMINGO_SERVICES=none` asks for no service at all (the bus, the collector and the admin API).
 */
export function servedServices(config: FlamingoConfig, registry: readonly ServiceDefinition[], selected: readonly ServiceDefinition[]): { definition: ServiceDefinition; workerMode: WorkerMode }[] {
  const shared = config.databaseUrl !== undefined && config.services?.length !== 0;
  const working = new Set(selected);
  // The registry's order, then the selected consumers outside it (the audit projection).
  return [...registry, ...selected.filter((s) => !registry.includes(s))]
    .filter((s) => shared || working.has(s))
    .map((definition) => ({ definition, workerMode: working.has(definition) ? 'shared' : 'server' }));
}

/** Every selected service's own settings, checked before anything starts: one `ConfigError` naming each bad one. */
export function checkServiceSettings(selected: readonly ServiceDefinition[], env: FlamingoConfig['env']): void {
  const problems: string[] = [];
  for (const definition of selected) if (definition.settings) readSettingsInto(definition.settings, env, problems);
  if (problems.length > 0) throw new ConfigError(problems);
}

/** The bus middleware the app runs: tracing (when on), the handler's log fields, the handler metrics. */
export function appMiddleware(metrics: Metrics, tracing: Tracing | undefined): BusMiddleware[] {
  return [...(tracing ? [busTracing(tracing)] : []), handlerLogFields(), handlerMetrics(metrics)];
}

/**
 * Starts Flamingo in this process: the engine (`<dataDir>/bus.db` or NATS), the bus (handler metrics as middleware), producer keys,
 * the HTTP server with browser sessions, static pages (`/web/`), the collector and the admin API, and the selected services; then listens.
 * Throws `ConfigError` for a configuration that cannot run (unknown service, engine unavailable).
 */
export async function startFlamingo(config: FlamingoConfig, options: StartOptions = {}): Promise<RunningFlamingo> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const registry = options.registry ?? allServices;
  const selected = selectServices(config, registry);
  const served = servedServices(config, registry, selected);
  checkServiceSettings(served.map((s) => s.definition), config.env);
  const adminKey = readOrCreateSecret(config.dataDir, 'admin.key', config.adminKey, 'flma_');
  const tokenSecret = readOrCreateSecret(config.dataDir, 'token.secret', config.tokenSecret);
  const database = { dataDir: config.dataDir, databaseUrl: config.databaseUrl, layout: config.databaseLayout, poolSize: config.databasePoolSize };

  const cleanups: (() => Promise<void>)[] = [];
  const runCleanups = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        logger.error({ err: error }, 'error while shutting down');
      }
    }
  };

  try {
    const engine = await openEngine(config, logger);
    const metrics = createMetrics();
    const tracing = createTracing(config.env, VERSION);
    if (tracing) cleanups.push(() => tracing.shutdown());
    const bus = createBus({ engine, source: '/flamingo', middleware: appMiddleware(metrics, tracing) });
    cleanups.push(() => bus.close());
    // Producer keys and revoked customers: the platform's own database, shared by every process.
    const platformDb = await openPlatformDatabase(database, options.platformDatabase);
    cleanups.push(() => platformDb.close());
    const keys = keyStore(platformDb.db);
    cleanups.push(() => keys.close());
    const revocations = revocationStore(platformDb.db);
    const contracts = contractStore(platformDb.db);
    const revocationFeed = await feedRevocations(bus, revocations, logger);
    cleanups.push(() => revocationFeed.close());
    const tokens = createTokens(tokenSecret.value);
    const webRoot = options.webRoot ?? WEB_ROOT;
    const staticFiles = existsSync(webRoot) ? { root: webRoot, prefix: '/web/' } : undefined;
    const app = await createHttpServer({ logger, metrics, ...(tracing ? { tracing } : {}), version: VERSION, settings: config.http, ...(staticFiles ? { staticFiles } : {}) });
    const guard = createGuard(app, { adminKey: adminKey.value, keys, tokens, revocations });
    sessionRoutes(app, tokens);
    if (staticFiles) {
      // The admin console (web/console/): its address without the static prefix.
      app.get('/console', { config: { auth: 'public' }, schema: { hide: true } }, async (_request, reply) => reply.redirect('/web/console/'));
    }
    collectorRoutes(app, { bus, guard, metrics, config, limits: options.limits ?? DEFAULT_LIMITS });
    adminRoutes(app, { bus, keys, metrics, contracts, codeContracts: codeContracts(), version: VERSION, ...(options.overviewIntervalMs ? { overview: { intervalMs: options.overviewIntervalMs } } : {}) });

    const running: { name: string; service: RunningService }[] = [];
    cleanups.push(async () => {
      for (const { name, service } of running.reverse()) {
        await service.stop();
        logger.info({ service: name }, 'service stopped');
      }
    });
    for (const { definition, workerMode } of served) {
      const service = await definition.start({
        workerMode,
        bus,
        database,
        http: app,
        logger: logger.child({ service: definition.name }),
        tokens,
        metrics,
        contracts,
        env: config.env,
        inboxRetentionMs: config.inboxRetentionMs,
        ...(tracing ? { traceContext: () => tracing.inject() } : {}),
      });
      running.push({ name: definition.name, service });
      logger.info({ service: definition.name, workerMode }, 'service started');
    }

    // Closing the server first: no new requests while services and the bus stop.
    cleanups.push(() => app.close());
    await app.listen({ port: config.port, host: config.host });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const shownHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host;
    const url = `http://${shownHost}:${port}`;
    logger.info({ url, host: config.host, port, services: selected.map((s) => s.name), engine: engine.name }, 'flamingo listening');

    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      adminKey,
      bus,
      http: app,
      services: selected.map((s) => s.name),
      served: served.map((s) => s.definition.name),
      close: () => (closing ??= runCleanups()),
    };
  } catch (error) {
    await runCleanups();
    throw error;
  }
}
