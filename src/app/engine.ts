import path from 'node:path';
import { InvalidOptionsError, type Engine } from '../bus/index.ts';
import { sqliteEngine } from '../engines/sqlite/index.ts';
import { ConfigError, redactedUrl, type FlamingoConfig } from '../platform/config.ts';
import type { Logger } from '../platform/logger.ts';

/** The bus log file of the embedded default engine. */
export const busFileOf = (dataDir: string): string => path.join(dataDir, 'bus.db');

/** The variable behind each NATS stream setting the engine can refuse at start. */
const NATS_SETTING_VARIABLES = {
  partitions: 'FLAMINGO_NATS_PARTITIONS',
  replicas: 'FLAMINGO_NATS_REPLICAS',
  duplicateWindowMs: 'FLAMINGO_NATS_DUPLICATE_WINDOW_MS',
  leaseTtlMs: 'FLAMINGO_NATS_LEASE_MS',
} as const;

/** Opens the engine `FLAMINGO_ENGINE` names: SQLite in the data dir, NATS JetStream or Redis Streams. */
export async function openEngine(config: FlamingoConfig, logger: Logger): Promise<Engine> {
  if (config.engine.kind === 'sqlite') {
    const file = busFileOf(config.dataDir);
    logger.info({ engine: 'sqlite', file }, 'opening engine');
    return sqliteEngine({ file });
  }
  if (config.engine.kind === 'redis') return await openRedisEngine(config, config.engine.url, logger);
  const { servers } = config.engine;
  logger.info({ engine: 'nats', servers, stream: config.natsStream }, 'opening engine');
  // Loaded only when asked for, so a SQLite-only process never loads the NATS client.
  const { natsEngine, StreamSettingsError } = await import('../engines/nats/index.ts');
  const engine = natsEngine({
    servers,
    stream: config.natsStream,
    replicas: config.natsReplicas,
    partitions: config.natsPartitions,
    duplicateWindowMs: config.natsDuplicateWindowMs,
    leaseTtlMs: config.natsLeaseMs,
    ackWaitMs: config.natsAckWaitMs,
  });
  try {
    await withTimeout(engine.head(), 10_000);
  } catch (error) {
    await engine.close().catch(() => undefined);
    // The existing streams disagree with a setting JetStream cannot change for us.
    if (error instanceof StreamSettingsError) throw new ConfigError([`${NATS_SETTING_VARIABLES[error.setting]}: ${error.message}`]);
    throw new ConfigError([`FLAMINGO_ENGINE: cannot reach NATS JetStream at ${servers.join(',')} (${(error as Error).message})`]);
  }
  return engine;
}

/** The Redis Streams engine; a warning is logged when the server's persistence can lose acknowledged events. */
async function openRedisEngine(config: FlamingoConfig, url: string, logger: Logger): Promise<Engine> {
  const shown = redactedUrl(url);
  logger.info({ engine: 'redis', url: shown, prefix: config.redis.prefix }, 'opening engine');
  // Loaded only when asked for, like the NATS client.
  const { redisEngine } = await import('../engines/redis/index.ts');
  const engine = redisEngine({
    url,
    prefix: config.redis.prefix,
    partitions: config.redis.partitions,
    duplicateWindowMs: config.redis.duplicateWindowMs,
    retentionMs: config.redis.retentionMs,
    leaseMs: config.redis.leaseMs,
    onWarning: (message) => logger.warn({ engine: 'redis', url: shown }, message),
  });
  try {
    await withTimeout(engine.head(), 10_000);
  } catch (error) {
    await engine.close().catch(() => undefined);
    // The log exists with another partition count than the setting asks for.
    if (error instanceof InvalidOptionsError && /partitions/.test(error.message)) throw new ConfigError([`FLAMINGO_REDIS_PARTITIONS: ${error.message}`]);
    throw new ConfigError([`FLAMINGO_ENGINE: cannot use Redis at ${shown} (${(error as Error).message})`]);
  }
  return engine;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
