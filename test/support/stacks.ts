/**
 * The stacks Flamingo runs on, for `describe.each(STACKS)`: the embedded default (SQLite bus log and
 * service databases in the data dir) and the two scale-out stacks (NATS JetStream at 127.0.0.1:4222,
 * or Redis Streams at 127.0.0.1:6379, with PostgreSQL at 127.0.0.1:5432).
 *
 * Every scale-out run is isolated: a JetStream stream of its own (`FLAMINGO_NATS_STREAM`) and a
 * PostgreSQL database of its own (`CREATE DATABASE flamingo_<random>`), because the services' schema
 * names are fixed; on Redis a key prefix of its own (`FLAMINGO_REDIS_PREFIX`). `cleanup()` deletes
 * the stream with its companions (or the prefix's keys) and drops the database.
 *
 * `TEST_STACKS=embedded` (or `nats+postgres`, `redis+postgres`, comma-separated) narrows the
 * `STACKS` matrices; the default is all three. The scale-out tests (`test/scale-out*.e2e.test.ts`)
 * use `SCALE_OUT` (NATS) and always run; the SIGKILL one runs on `REDIS_SCALE_OUT` too.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import pg from 'pg';

export type StackName = 'embedded' | 'nats+postgres' | 'redis+postgres';

/** The NATS server of the scale-out stack. (Default: `nats://127.0.0.1:4222`, `TEST_NATS_URL`) */
export const TEST_NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
/** The Redis server of the Redis scale-out stack. (Default: `redis://127.0.0.1:6379`, `TEST_REDIS_URL`) */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** A PostgreSQL URL allowed to create databases, on the server the runs' databases go to. (Default: `postgres://postgres@127.0.0.1:5432/postgres`, `TEST_POSTGRES_ADMIN_URL`) */
export const TEST_POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** One run's share of a stack: the environment to start Flamingo with, and how to remove what it made. */
export interface StackRun {
  readonly stack: StackName;
  /** `FLAMINGO_ENGINE`, `FLAMINGO_NATS_STREAM` and `DATABASE_URL`; empty on the embedded default. */
  readonly env: Readonly<Record<string, string>>;
  /** The run's PostgreSQL database (scale-out only). */
  readonly databaseUrl?: string;
  /** The run's JetStream stream (scale-out only). */
  readonly stream?: string;
  /** Deletes the stream (and its `<stream>_*` companions) and drops the database. Idempotent. */
  cleanup(): Promise<void>;
}

export interface Stack {
  readonly name: StackName;
  /** Makes a fresh stream and database for one run (nothing on the embedded default). */
  provision(): Promise<StackRun>;
}

const suffix = () => randomUUID().replaceAll('-', '').slice(0, 12);

/** Creates `flamingo_<random>` on the test PostgreSQL and returns its URL. */
export async function createRunDatabase(prefix = 'flamingo'): Promise<string> {
  const name = `${prefix}_${suffix()}`;
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Drops a database made by `createRunDatabase`. Connections still closing (a pool resolves `end()`
 * before its sockets are gone) get up to 3 s to go; whoever is left then is disconnected.
 */
export async function dropRunDatabase(databaseUrl: string): Promise<void> {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_ADMIN_URL });
  await admin.connect();
  try {
    for (const until = Date.now() + 3_000; Date.now() < until; await sleep(50)) {
      const { rows } = await admin.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1', [name]);
      if (Number(rows[0].n) === 0) break;
    }
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** A unique JetStream stream name for one run. */
export function uniqueStream(prefix = 'E2E'): string {
  return `${prefix}_${suffix().toUpperCase()}`;
}

/** Deletes `stream` and every `<stream>_…` companion the engine made (dead letters, leases). */
export async function deleteStreams(stream: string): Promise<void> {
  const nc = await connect({ servers: TEST_NATS_URL });
  try {
    const jsm = await jetstreamManager(nc);
    const names: string[] = [];
    for await (const name of jsm.streams.names()) if (name === stream || name.startsWith(`${stream}_`)) names.push(name);
    for (const name of names) await jsm.streams.delete(name).catch(() => undefined);
  } finally {
    await nc.close();
  }
}

/** Deletes every key of the Redis log `prefix`. */
export async function deleteRedisLog(prefix: string): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `{${prefix}}:*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

const embedded: Stack = {
  name: 'embedded',
  async provision() {
    return { stack: 'embedded', env: {}, cleanup: async () => undefined };
  },
};

const natsPostgres: Stack = {
  name: 'nats+postgres',
  async provision() {
    const stream = uniqueStream();
    const databaseUrl = await createRunDatabase();
    let cleaning: Promise<void> | undefined;
    return {
      stack: 'nats+postgres',
      env: { FLAMINGO_ENGINE: TEST_NATS_URL, FLAMINGO_NATS_STREAM: stream, DATABASE_URL: databaseUrl },
      databaseUrl,
      stream,
      cleanup: () => (cleaning ??= Promise.all([deleteStreams(stream), dropRunDatabase(databaseUrl)]).then(() => undefined)),
    };
  },
};

const redisPostgres: Stack = {
  name: 'redis+postgres',
  async provision() {
    const prefix = `e2e-${suffix()}`;
    const databaseUrl = await createRunDatabase();
    let cleaning: Promise<void> | undefined;
    return {
      stack: 'redis+postgres',
      env: { FLAMINGO_ENGINE: TEST_REDIS_URL, FLAMINGO_REDIS_PREFIX: prefix, DATABASE_URL: databaseUrl },
      databaseUrl,
      cleanup: () => (cleaning ??= Promise.all([deleteRedisLog(prefix), dropRunDatabase(databaseUrl)]).then(() => undefined)),
    };
  },
};

const ALL: readonly Stack[] = [embedded, natsPostgres, redisPostgres];
const wanted = process.env.TEST_STACKS?.split(',').map((s) => s.trim());

/** The stacks the end-to-end tests run on (both unless `TEST_STACKS` names some). */
export const STACKS: readonly Stack[] = wanted ? ALL.filter((stack) => wanted.includes(stack.name)) : ALL;

/** The scale-out stack alone, for tests that only make sense on it. */
export const SCALE_OUT: Stack = natsPostgres;
/** The scale-out stack on Redis Streams. */
export const REDIS_SCALE_OUT: Stack = redisPostgres;

/** The scale-out stack when `TEST_STACKS` leaves it in (for tests that add it beside setups of their own). */
export const SCALE_OUT_STACKS: readonly Stack[] = STACKS.filter((stack) => stack === natsPostgres || stack === redisPostgres);
