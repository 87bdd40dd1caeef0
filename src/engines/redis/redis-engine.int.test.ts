import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { UnstoredEvent } from '../../contracts/index.ts';
import { resolveSubscriptionOptions, type Engine } from '../../bus/kit/index.ts';
import { engineConformance } from '../../bus/testing/index.ts';
import { freePort } from '../../../test/support/process.ts';
import { deleteRedisLog } from '../../../test/support/stacks.ts';
import { redisEngine, type RedisEngineOptions } from './index.ts';

// The real Redis server on this machine; no server, no pass (these tests fail, never skip).
const URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const prefixes = new Set<string>();
const engines: Engine[] = [];

/** Deletes every key of the logs the tests made. */
afterAll(async () => {
  await Promise.all(engines.map((engine) => engine.close().catch(() => undefined)));
  for (const prefix of prefixes) await deleteRedisLog(prefix);
});

function uniquePrefix(name = 'test'): string {
  const prefix = `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}-${randomUUID().slice(0, 8)}`;
  prefixes.add(prefix);
  return prefix;
}

function engineOn(prefix: string, options: Partial<RedisEngineOptions> = {}) {
  const engine = redisEngine({ url: URL, prefix, ...options });
  engines.push(engine);
  return engine;
}

// One partition: a single process sees the log in order across keys, as on SQLite.
engineConformance('redis, 1 partition', async (context) => {
  const prefix = uniquePrefix(context.id);
  const open = () => redisEngine({ url: URL, prefix, partitions: 1 });
  return { engine: open(), reopen: async () => open() };
});

// The default partition count: order holds per key (across keys within a partition only).
engineConformance(
  'redis, default partitions',
  async (context) => {
    const prefix = uniquePrefix(context.id);
    const open = () => redisEngine({ url: URL, prefix });
    return { engine: open(), reopen: async () => open() };
  },
  { logOrderAcrossKeys: false, exactInFlight: false },
);

let counter = 0;
function event(key: string, data: Record<string, unknown> = {}): UnstoredEvent {
  counter += 1;
  return {
    specversion: '1.0',
    id: randomUUID(),
    source: '/test',
    type: 'order.placed',
    subject: `order/${key}`,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data: { n: counter, ...data },
    partitionkey: key,
  };
}

async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A `redis-server` of our own (AOF on, `appendfsync always`) in a temporary directory, for tests that kill Redis itself. */
async function ownRedisServer(): Promise<{ url: string; kill: () => Promise<void>; start: () => Promise<void>; remove: () => void }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'flamingo-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const url = `redis://127.0.0.1:${port}`;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''], { stdio: 'ignore' });
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    await eventually(() => probe.connect().then(() => true, () => false), 10_000);
    probe.disconnect();
  };
  await start();
  return {
    url,
    start,
    kill: async () => {
      const gone = new Promise((resolve) => child?.once('exit', resolve));
      child?.kill('SIGKILL');
      await gone;
    },
    remove: () => {
      child?.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('redis engine on the real server', () => {
  it('stores an id once within the duplicate window and returns the original sequence', async () => {
    const engine = engineOn(uniquePrefix(), { duplicateWindowMs: 1_000 });
    const first = event('k1');
    const [stored] = await engine.append([first]);
    const again = await engine.append([event('k2'), first, first]);
    expect(stored.duplicate).toBe(false);
    expect(again[1]).toEqual({ id: first.id, sequence: stored.sequence, duplicate: true });
    expect(again[2]).toEqual({ id: first.id, sequence: stored.sequence, duplicate: true });
    expect(await engine.head()).toBe(2);
    // Past the window the id is forgotten: the documented limit of deduplication.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const [later] = await engine.append([first]);
    expect(later).toEqual({ id: first.id, sequence: 3, duplicate: false });
  });

  it('refuses a partition count that differs from the log it joins', async () => {
    const prefix = uniquePrefix();
    await engineOn(prefix, { partitions: 4 }).head();
    await expect(engineOn(prefix, { partitions: 8 }).head()).rejects.toThrow(/has 4 partitions, not 8/);
    await expect(engineOn(prefix).head()).resolves.toBe(0);
  });

  it("warns that this machine's Redis, without AOF, loses acknowledged events on a restart", async () => {
    const warnings: string[] = [];
    const engine = engineOn(uniquePrefix(), { onWarning: (message) => warnings.push(message) });
    const durability = await engine.durability();
    const admin = new Redis(URL);
    const [, appendonly] = (await admin.config('GET', 'appendonly')) as string[];
    admin.disconnect();
    if (appendonly === 'no') {
      expect(durability.level).toBe('memory');
      expect(warnings).toEqual([expect.stringMatching(/appendonly no: .* a restart of Redis loses them/)]);
    } else expect(durability.level).not.toBe('memory');
  });

  it('with appendfsync always keeps every acknowledged event, position and dead letter through a SIGKILL of Redis', { timeout: 60_000 }, async () => {
    const server = await ownRedisServer();
    try {
      const warnings: string[] = [];
      const open = () => redisEngine({ url: server.url, prefix: 'durable', partitions: 2, onWarning: (message) => warnings.push(message) });
      const engine = open();
      expect(await engine.durability()).toEqual({ level: 'fsync-always' });
      expect(warnings).toEqual([]);
      const acknowledged = await engine.append(Array.from({ length: 50 }, (_, i) => event(`k${i % 5}`)));
      const options = resolveSubscriptionOptions({ name: 'mailer', types: ['order.*'], retry: { maxAttempts: 3, initialDelayMs: 10, jitter: 0 } });
      const sub = await engine.consume(options, async (events) => events.map((e) => ((e.data as { n: number }).n % 10 === 0 ? { kind: 'dead' as const, error: 'no address' } : { kind: 'ack' as const })));
      await eventually(async () => (await engine.subscriptions())[0]?.lag === 0);
      await sub.close();
      await server.kill();
      await engine.close();
      await server.start();

      const reopened = open();
      engines.push(reopened);
      expect((await reopened.read({ limit: 1000 })).map((e) => e.id)).toEqual(acknowledged.map((r) => r.id));
      const [info] = await reopened.subscriptions();
      expect(info).toMatchObject({ name: 'mailer', lag: 0, deadLetters: 5, position: 50 });
    } finally {
      server.remove();
    }
  });

  it('trims only below what every subscription has finished and the retention allows', async () => {
    const prefix = uniquePrefix();
    const engine = engineOn(prefix, { partitions: 2, retentionMs: 1 });
    const published = await engine.append(Array.from({ length: 20 }, (_, i) => event(`k${i}`)));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const fast: number[] = [];
    const slow: number[] = [];
    await engine.consume(resolveSubscriptionOptions({ name: 'fast', types: ['*'] }), async (events) => {
      fast.push(...events.map((e) => e.sequence));
      return events.map(() => ({ kind: 'ack' as const }));
    });
    // `slow` finishes the first 5 events, then blocks on the sixth.
    await engine.consume(resolveSubscriptionOptions({ name: 'slow', types: ['*'] }), async (events) => {
      if (slow.length >= 5) await gate;
      slow.push(...events.map((e) => e.sequence));
      return events.map(() => ({ kind: 'ack' as const }));
    });
    await eventually(() => fast.length === 20 && slow.length === 5);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await engine.trim();
    const kept = (await engine.read({ limit: 1000 })).map((e) => e.sequence);
    // Nothing `slow` has not finished is gone, in either partition.
    for (const { sequence } of published) if (!slow.includes(sequence)) expect(kept).toContain(sequence);
    expect(kept.length).toBeLessThan(20);
    release();
    await eventually(() => slow.length === 20);
    await eventually(async () => (await engine.subscriptions()).every((s) => s.lag === 0));
    await engine.trim();
    expect(await engine.read({ limit: 1000 })).toEqual([]);
    // The head stays where it was: new events continue the sequence.
    const [next] = await engine.append([event('k-next')]);
    expect(next.sequence).toBe(21);
  });

  it("replays for every instance when another one rewinds the subscription", async () => {
    const prefix = uniquePrefix();
    const a = engineOn(prefix, { partitions: 4, leaseMs: 1_000 });
    await a.head();
    const b = engineOn(prefix, { leaseMs: 1_000 });
    const admin = engineOn(prefix);
    const got: { key: string; sequence: number }[] = [];
    const handler = async (events: readonly { partitionkey?: string; sequence: number }[]) => {
      for (const e of events) got.push({ key: e.partitionkey!, sequence: e.sequence });
      return events.map(() => ({ kind: 'ack' as const }));
    };
    const options = resolveSubscriptionOptions({ name: 'projection', types: ['order.*'], concurrency: 4 });
    await a.consume(options, handler);
    await b.consume(options, handler);
    await a.append(Array.from({ length: 40 }, (_, i) => event(`order-${i % 8}`)));
    await eventually(() => got.length === 40);
    await eventually(async () => (await admin.subscriptions())[0]?.lag === 0);

    await admin.rewind('projection', 'beginning');
    await eventually(() => got.length === 80);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(got).toHaveLength(80);
    const replay = got.slice(40);
    expect(replay.map((g) => g.sequence).sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    for (let k = 0; k < 8; k++) {
      const ofKey = replay.filter((g) => g.key === `order-${k}`).map((g) => g.sequence);
      expect(ofKey).toEqual([...ofKey].sort((x, y) => x - y));
    }

  });

  it('forgets the consumers of instances long gone when it takes a partition over, after claiming what they left pending', { timeout: 40_000 }, async () => {
    const prefix = uniquePrefix();
    const first = engineOn(prefix, { partitions: 1, leaseMs: 1_000 });
    const options = resolveSubscriptionOptions({ name: 'projection', types: ['order.*'] });
    const sub = await first.consume(options, async (events) => events.map(() => ({ kind: 'ack' as const })));
    await sub.close();
    const redis = new Redis(URL);
    try {
      const stream = `{${prefix}}:p:0`;
      await redis.xgroup('CREATECONSUMER', stream, 'projection', 'long-gone');
      await first.append([event('k1')]);
      // `holding` takes the entry and never acknowledges it: it is claimed first, not lost with its consumer.
      await redis.xreadgroup('GROUP', 'projection', 'holding', 'COUNT', 1, 'STREAMS', stream, '>');
      const names = async () => ((await redis.xinfo('CONSUMERS', stream, 'projection')) as unknown[][]).map((flat) => String(flat[flat.indexOf('name') + 1]));
      expect(await names()).toEqual(expect.arrayContaining(['long-gone', 'holding']));
      // Ten lease times of idleness.
      await new Promise((resolve) => setTimeout(resolve, 10_500));
      const got: string[] = [];
      await engineOn(prefix, { leaseMs: 1_000 }).consume(options, async (events) => {
        got.push(...events.map((e) => e.id));
        return events.map(() => ({ kind: 'ack' as const }));
      });
      await eventually(() => got.length === 1);
      await eventually(async () => !(await names()).includes('long-gone'));
      expect(await names()).not.toContain('holding');
    } finally {
      redis.disconnect();
    }
  });

  it('shares a subscription between two instances by partition: each event once, each key in order', async () => {
    const prefix = uniquePrefix();
    const a = engineOn(prefix, { partitions: 8 });
    await a.head();
    const b = engineOn(prefix);
    const seen = new Map<string, number[]>();
    const byInstance = { a: 0, b: 0 };
    const handler = (name: 'a' | 'b') => async (events: readonly { partitionkey?: string; sequence: number }[]) => {
      for (const e of events) {
        byInstance[name] += 1;
        seen.set(e.partitionkey!, [...(seen.get(e.partitionkey!) ?? []), e.sequence]);
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
      return events.map(() => ({ kind: 'ack' as const }));
    };
    const options = resolveSubscriptionOptions({ name: 'orders.projection', types: ['order.*'], concurrency: 4 });
    await a.consume(options, handler('a'));
    await b.consume(options, handler('b'));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await a.append(Array.from({ length: 200 }, (_, i) => event(`order-${i % 40}`)));
    await eventually(() => byInstance.a + byInstance.b === 200);
    expect(byInstance.a).toBeGreaterThan(0);
    expect(byInstance.b).toBeGreaterThan(0);
    for (const [, sequences] of seen) expect(sequences).toEqual([...sequences].sort((x, y) => x - y));
    await eventually(async () => (await b.subscriptions())[0]?.lag === 0);
    expect((await b.subscriptions())[0]).toMatchObject({ name: 'orders.projection', lag: 0, position: 200 });
  });

  it('fails every call when the server cannot be reached', async () => {
    const engine = redisEngine({ url: 'redis://127.0.0.1:1', prefix: uniquePrefix() });
    await expect(engine.head()).rejects.toThrow();
    await expect(engine.append([event('x')])).rejects.toThrow();
    await engine.close();
  });
});
