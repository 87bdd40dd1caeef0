/**
 * The Redis ceilings: the same payloads through plain ioredis commands, no bus or engine on top —
 * pipelined `XADD` (auto-pipelining, `inFlight` awaiting their reply at once) over 16 streams, and
 * `XREADGROUP` + `XACK` reading them back. Keys are per run (`{bench-<run>-raw…}:…`) and deleted.
 */
import { Redis } from 'ioredis';
import { v7 as uuidv7 } from 'uuid';
import { dataPool, rawPayload } from './fixtures.ts';
import { closedLoop, nowMs, paced, percentiles, sleep, type Percentiles } from './stats.ts';

/** Partitions of the engine's log by default; raw streams get the same shape. */
const PARTITIONS = 16;

export interface RedisRaw {
  /** Events/s with `inFlight` XADDs awaiting their reply at once. */
  publish(options: { inFlight: number; durationMs: number }): Promise<{ rate: number; events: number }>;
  /** Every entry of the engine's log `prefix` through a consumer group (XREADGROUP + XACK), each parsed. */
  scan(prefix: string, expected: number): Promise<{ events: number; rate: number }>;
  /** XADD (not awaited) → a blocking XREADGROUP receives, at `rate` per second. Milliseconds. */
  latency(options: { rate: number; durationMs: number }): Promise<Percentiles>;
  close(): Promise<void>;
}

/** Deletes every key of the logs whose prefix starts with `prefix` (names made unique for this run). */
export async function deleteKeysOf(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url);
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `{${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) deleted += await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

type Reply = [string, [string, string[]][]][] | null;

/** Reads every stream of `streams` through group `group` until `expected` entries came, acking each. */
async function readAll(redis: Redis, streams: readonly string[], group: string, expected: number, onEntry: (fields: string[], id: string) => void): Promise<number> {
  let events = 0;
  const deadline = Date.now() + 120_000;
  while (events < expected && Date.now() < deadline) {
    const reply = (await redis.xreadgroup('GROUP', group, 'raw', 'COUNT', 500, 'BLOCK', 1_000, 'STREAMS', ...streams, ...streams.map(() => '>'))) as Reply;
    for (const [stream, entries] of reply ?? []) {
      for (const [id, fields] of entries) onEntry(fields, id);
      if (entries.length > 0) void redis.xack(stream, group, ...entries.map(([id]) => id));
      events += entries.length;
    }
  }
  return events;
}

export async function rawRedis(options: { url: string; runId: string }): Promise<RedisRaw> {
  const redis = new Redis(options.url, { enableAutoPipelining: true });
  const blocking = new Redis(options.url);
  const pool = dataPool(1_000);
  let streams = 0;
  const fresh = () => {
    streams += 1;
    const base = `{bench-${options.runId}-raw${streams}}`;
    return Array.from({ length: PARTITIONS }, (_, n) => `${base}:p:${n}`);
  };

  return {
    async publish({ inFlight, durationMs }) {
      const keys = fresh();
      const { done, ms } = await closedLoop(inFlight, durationMs, async (i) => {
        await redis.xadd(keys[i % PARTITIONS], '*', 't', 'order.placed', 'e', rawPayload(pool[i % pool.length], uuidv7()));
      });
      return { rate: (done * 1000) / ms, events: done };
    },

    async scan(prefix, expected) {
      const keys = Array.from({ length: PARTITIONS }, (_, n) => `{${prefix}}:p:${n}`);
      const group = `bench-raw-scan-${Date.now()}`;
      await Promise.all(keys.map((key) => redis.xgroup('CREATE', key, group, '0', 'MKSTREAM')));
      const start = nowMs();
      const events = await readAll(blocking, keys, group, expected, (fields) => JSON.parse(fields[fields.indexOf('e') + 1]));
      const ms = nowMs() - start;
      await Promise.all(keys.map((key) => redis.xgroup('DESTROY', key, group)));
      return { events, rate: (events * 1000) / ms };
    },

    async latency({ rate, durationMs }) {
      const keys = fresh();
      await Promise.all(keys.map((key) => redis.xgroup('CREATE', key, 'latency', '0', 'MKSTREAM')));
      const sentAt = new Map<string, number>();
      const latencies: number[] = [];
      const expected = Math.round((rate * durationMs) / 1000);
      const received = readAll(blocking, keys, 'latency', expected, (fields) => {
        const at = nowMs();
        const start = sentAt.get(fields[fields.indexOf('i') + 1]);
        if (start !== undefined) latencies.push(at - start);
      });
      await paced(rate, durationMs, (i) => {
        const id = uuidv7();
        sentAt.set(id, nowMs());
        redis.xadd(keys[i % PARTITIONS], '*', 'i', id, 'e', rawPayload(pool[i % pool.length], id)).catch(() => undefined);
      });
      await Promise.race([received, sleep(5_000)]);
      return percentiles(latencies);
    },

    async close() {
      redis.disconnect();
      blocking.disconnect();
      await deleteKeysOf(options.url, `bench-${options.runId}-raw`);
    },
  };
}
