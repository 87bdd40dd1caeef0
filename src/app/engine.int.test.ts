/**
 * Opening the engine `FLAMINGO_ENGINE` names, on the real Redis and NATS servers: a Redis whose
 * persistence can lose acknowledged events is logged as a warning; a partition count that differs
 * from the existing log's, or NATS stream settings JetStream cannot take, stop start-up naming the
 * setting, and those it can take are applied.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteRedisLog, deleteStreams, TEST_NATS_URL, TEST_REDIS_URL, uniqueStream } from '../../test/support/stacks.ts';
import type { RedisEngine } from '../engines/redis/index.ts';
import { ConfigError, loadConfig } from '../platform/config.ts';
import { openEngine } from './engine.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'flamingo-engine-'));
const prefixes: string[] = [];
const streams: string[] = [];
afterAll(async () => {
  for (const prefix of prefixes) await deleteRedisLog(prefix);
  for (const stream of streams) await deleteStreams(stream);
  rmSync(dir, { recursive: true, force: true });
});

function capturingLogger() {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

const configFor = (prefix: string, extra: Record<string, string> = {}) =>
  loadConfig({ FLAMINGO_ENGINE: TEST_REDIS_URL, FLAMINGO_REDIS_PREFIX: prefix, FLAMINGO_DATA_DIR: dir, ...extra }, dir);

describe('openEngine on Redis', () => {
  it("warns when the server's persistence can lose acknowledged events", async () => {
    const prefix = `engine-${randomUUID().slice(0, 8)}`;
    prefixes.push(prefix);
    const { logger, lines } = capturingLogger();
    const engine = await openEngine(configFor(prefix), logger);
    const durability = await (engine as RedisEngine).durability();
    await engine.close();
    const warnings = lines.filter((line) => line.level === 40).map((line) => line.msg);
    expect(warnings).toEqual(durability.warning ? [durability.warning] : []);
  });

  it('stops start-up naming FLAMINGO_REDIS_PARTITIONS when the log has another count', async () => {
    const prefix = `engine-${randomUUID().slice(0, 8)}`;
    prefixes.push(prefix);
    const { logger } = capturingLogger();
    await (await openEngine(configFor(prefix, { FLAMINGO_REDIS_PARTITIONS: '4' }), logger)).close();
    const refused = await openEngine(configFor(prefix, { FLAMINGO_REDIS_PARTITIONS: '8' }), logger).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as ConfigError).problems).toEqual([`FLAMINGO_REDIS_PARTITIONS: the log "${prefix}" has 4 partitions, not 8: the count is fixed when the log is created`]);
  });
});

describe('openEngine on NATS', () => {
  const natsConfig = (stream: string, extra: Record<string, string> = {}) =>
    loadConfig({ FLAMINGO_ENGINE: TEST_NATS_URL, FLAMINGO_NATS_STREAM: stream, FLAMINGO_DATA_DIR: dir, ...extra }, dir);
  const refusal = (stream: string, extra: Record<string, string>) =>
    openEngine(natsConfig(stream, extra), capturingLogger().logger).then(
      async (engine) => void (await engine.close()),
      (error: unknown) => error,
    );

  it('stops start-up naming FLAMINGO_NATS_REPLICAS when the stream would keep fewer copies, and FLAMINGO_NATS_PARTITIONS on another count', async () => {
    const stream = uniqueStream('ENGINE');
    streams.push(stream);
    const refusedNew = await refusal(stream, { FLAMINGO_NATS_REPLICAS: '3' });
    expect(refusedNew).toBeInstanceOf(ConfigError);
    expect((refusedNew as ConfigError).problems).toEqual([expect.stringMatching(/^FLAMINGO_NATS_REPLICAS: stream \w+: 3 replicas need a JetStream cluster/)]);

    await (await openEngine(natsConfig(stream, { FLAMINGO_NATS_PARTITIONS: '4' }), capturingLogger().logger)).close();
    const refused = await refusal(stream, { FLAMINGO_NATS_REPLICAS: '3' });
    expect((refused as ConfigError).problems).toEqual([`FLAMINGO_NATS_REPLICAS: stream ${stream}: 3 replicas need a JetStream cluster, and the server runs without one (it keeps one copy)`]);
    const partitions = await refusal(stream, { FLAMINGO_NATS_PARTITIONS: '8' });
    expect((partitions as ConfigError).problems).toEqual([`FLAMINGO_NATS_PARTITIONS: stream ${stream} has 4 partitions, not the configured 8: the count is fixed when the stream is created`]);
  });
});
