import path from 'node:path';
import type { Engine } from '../bus/types.ts';
import { sqliteEngine } from '../engines/sqlite/index.ts';
import { ConfigError, type FlamingoConfig } from '../platform/config.ts';
import type { Logger } from '../platform/logger.ts';

/** The bus log file of the embedded default engine. */
export const busFileOf = (dataDir: string): string => path.join(dataDir, 'bus.db');

/** Opens the engine `FLAMINGO_ENGINE` names: SQLite in the data dir, or NATS JetStream. */
export async function openEngine(config: FlamingoConfig, logger: Logger): Promise<Engine> {
  if (config.engine.kind === 'sqlite') {
    const file = busFileOf(config.dataDir);
    logger.info({ engine: 'sqlite', file }, 'opening engine');
    return sqliteEngine({ file });
  }
  const { servers } = config.engine;
  logger.info({ engine: 'nats', servers }, 'opening engine');
  // Loaded only when asked for, so a SQLite-only process never loads the NATS client.
  const modulePath = '../engines/nats/index.ts';
  const mod = (await import(modulePath).catch(() => undefined)) as { natsEngine?: (options: { servers: readonly string[] }) => Promise<Engine> } | undefined;
  if (!mod?.natsEngine) throw new ConfigError([`FLAMINGO_ENGINE: the NATS engine is not available in this build (asked for ${servers.join(',')})`]);
  return mod.natsEngine({ servers });
}
