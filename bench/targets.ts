/**
 * What a run measures: the bus on one engine, and the raw ceilings of that engine's storage
 * (better-sqlite3 for `sqlite`, plain JetStream for `nats`).
 */
import path from 'node:path';
import { createBus, type Bus, type BusMiddleware, type Engine } from '../src/bus/index.ts';
import { natsEngine } from '../src/engines/nats/index.ts';
import { redisEngine } from '../src/engines/redis/index.ts';
import { sqliteEngine } from '../src/engines/sqlite/index.ts';
import { deleteStreamsOf, rawNats, type NatsRaw } from './nats-raw.ts';
import { deleteKeysOf, rawRedis, type RedisRaw } from './redis-raw.ts';
import { rawDiskGroupCommit, rawSqliteLatency, rawSqlitePublish, rawSqliteScan } from './sqlite-raw.ts';
import type { Percentiles } from './stats.ts';

export type EngineName = 'sqlite' | 'nats' | 'redis';

/** Where an opened bus keeps its log, so a raw reader can scan the very same events. */
export type LogRef = { readonly kind: 'sqlite'; readonly file: string } | { readonly kind: 'nats'; readonly stream: string } | { readonly kind: 'redis'; readonly prefix: string };

export interface OpenedBus {
  readonly bus: Bus;
  readonly engine: Engine;
  readonly log: LogRef;
  /** Closes the bus and removes what it stored (NATS streams; SQLite files go with the temp dir). */
  close(): Promise<void>;
}

/** The same three measurements without the bus and engine on top. */
export interface RawCeilings {
  /** How the ceilings are labelled in the table. */
  readonly label: string;
  /** Events/s storing the same events with `inFlight` at a time (SQLite: that many per transaction). */
  publish(options: { inFlight: number; durationMs: number }): Promise<{ rate: number; events: number }>;
  /** Reading every event of an engine's log in order and parsing it. */
  scan(log: LogRef, expected: number): Promise<{ events: number; rate: number }>;
  /** Store-one-event latency at a fixed rate (NATS: publish → consumer receives). */
  latency(options: { rate: number; durationMs: number }): Promise<Percentiles>;
  /** The disk alone under a group commit at a fixed rate, arrival → synced (SQLite only). */
  diskSync?(options: { rate: number; durationMs: number }): Promise<Percentiles>;
  close(): Promise<void>;
}

export interface Target {
  readonly engine: EngineName;
  /** A bus on a fresh, empty log named after `label`, with `middleware` (Default: none). */
  open(label: string, middleware?: readonly BusMiddleware[]): Promise<OpenedBus>;
  readonly raw: RawCeilings;
}

export interface TargetOptions {
  /** Temp dir of this run (SQLite files). */
  readonly dir: string;
  /** Unique per run (NATS stream names). */
  readonly runId: string;
  readonly natsServers: readonly string[];
  readonly redisUrl: string;
}

export function sqliteTarget(options: TargetOptions): Target {
  return {
    engine: 'sqlite',
    async open(label, middleware) {
      const file = path.join(options.dir, `${label}.db`);
      const engine = sqliteEngine({ file });
      const bus = createBus({ engine, source: '/bench', ...(middleware ? { middleware } : {}) });
      return { bus, engine, log: { kind: 'sqlite', file }, close: () => bus.close() };
    },
    raw: {
      label: 'raw better-sqlite3',
      publish: async ({ inFlight, durationMs }) => rawSqlitePublish(options.dir, { batch: inFlight, durationMs }),
      async scan(log) {
        if (log.kind !== 'sqlite') throw new Error('a SQLite scan needs a SQLite log');
        return rawSqliteScan(log.file);
      },
      latency: (latencyOptions) => rawSqliteLatency(options.dir, latencyOptions),
      diskSync: (syncOptions) => rawDiskGroupCommit(options.dir, syncOptions),
      close: async () => undefined,
    },
  };
}

export function natsTarget(options: TargetOptions): Target {
  let raw: Promise<NatsRaw> | undefined;
  const rawOnce = () => (raw ??= rawNats({ servers: options.natsServers, runId: options.runId }));
  return {
    engine: 'nats',
    async open(label, middleware) {
      const stream = `BENCH_${options.runId}_${label}`.replace(/[^A-Za-z0-9_-]/g, '_');
      const engine = natsEngine({ servers: options.natsServers, stream });
      const bus = createBus({ engine, source: '/bench', ...(middleware ? { middleware } : {}) });
      // The engine connects in the background; the first call says whether the server is there.
      await engine.head();
      return {
        bus,
        engine,
        log: { kind: 'nats', stream },
        async close() {
          await bus.close();
          await deleteStreamsOf(options.natsServers, stream);
        },
      };
    },
    raw: {
      label: 'raw JetStream, noAsyncTraces',
      publish: async (publishOptions) => (await rawOnce()).publish(publishOptions),
      async scan(log, expected) {
        if (log.kind !== 'nats') throw new Error('a JetStream scan needs a NATS log');
        return (await rawOnce()).scan(log.stream, expected);
      },
      latency: async (latencyOptions) => (await rawOnce()).latency(latencyOptions),
      async close() {
        if (raw) await (await raw).close();
        // Whatever a failed section left behind: every stream of this run starts with the run's prefix.
        await deleteStreamsOf(options.natsServers, `BENCH_${options.runId}`);
      },
    },
  };
}

export function redisTarget(options: TargetOptions): Target {
  let raw: Promise<RedisRaw> | undefined;
  const rawOnce = () => (raw ??= rawRedis({ url: options.redisUrl, runId: options.runId }));
  return {
    engine: 'redis',
    async open(label, middleware) {
      const prefix = `bench-${options.runId}-${label}`.replace(/[^A-Za-z0-9_.-]/g, '_');
      const engine = redisEngine({ url: options.redisUrl, prefix });
      const bus = createBus({ engine, source: '/bench', ...(middleware ? { middleware } : {}) });
      await engine.head();
      return {
        bus,
        engine,
        log: { kind: 'redis', prefix },
        async close() {
          await bus.close();
          await deleteKeysOf(options.redisUrl, prefix);
        },
      };
    },
    raw: {
      label: 'raw pipelined XADD / XREADGROUP',
      publish: async (publishOptions) => (await rawOnce()).publish(publishOptions),
      async scan(log, expected) {
        if (log.kind !== 'redis') throw new Error('a Redis scan needs a Redis log');
        return (await rawOnce()).scan(log.prefix, expected);
      },
      latency: async (latencyOptions) => (await rawOnce()).latency(latencyOptions),
      async close() {
        if (raw) await (await raw).close();
        // Whatever a failed section left behind: every log of this run starts with the run's prefix.
        await deleteKeysOf(options.redisUrl, `bench-${options.runId}`);
      },
    },
  };
}
