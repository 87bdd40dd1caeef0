import { randomUUID } from 'node:crypto';
import { AckPolicy, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import type { UnstoredEvent } from '../../contracts/index.ts';
import type { CloudEvent } from '../../contracts/index.ts';
import { partitionOf, resolveSubscriptionOptions, type Engine, type Outcome } from '../../bus/kit/index.ts';
import { engineConformance } from '../../bus/testing/index.ts';
import { natsEngine, PartialAppendError, StreamSettingsError, type NatsEngineOptions } from './index.ts';
import { consumerName } from './naming.ts';

// The real JetStream server on this machine; no server, no pass (these tests fail, never skip).
const SERVERS = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

const streams = new Set<string>();
const engines: Engine[] = [];

// An admin connection for set-up and clean-up. Without a server each test fails on its own
// (a failing beforeAll would only mark them skipped).
let admin: Promise<{ nc: NatsConnection; jsm: JetStreamManager }> | undefined;
function manager(): Promise<JetStreamManager> {
  admin ??= connect({ servers: SERVERS, timeout: 3_000 }).then(async (nc) => ({ nc, jsm: await jetstreamManager(nc) }));
  return admin.then(({ jsm }) => jsm);
}

afterAll(async () => {
  await Promise.all(engines.map((engine) => engine.close().catch(() => undefined)));
  // Connects here if no test did (a run filtered to the conformance suite).
  const jsm = streams.size > 0 ? await manager().catch(() => undefined) : undefined;
  if (jsm) {
    const names = [...streams].flatMap((stream) => [stream, `${stream}_DLQ`, `${stream}_LEASES`]);
    for (let i = 0; i < names.length; i += 16) await Promise.all(names.slice(i, i + 16).map((name) => jsm.streams.delete(name).catch(() => undefined)));
  }
  await (await admin?.catch(() => undefined))?.nc.close();
});

function uniqueStream(): string {
  const stream = `T_${randomUUID().replaceAll('-', '').slice(0, 12).toUpperCase()}`;
  streams.add(stream);
  return stream;
}

function engineOn(stream: string, options: Partial<NatsEngineOptions> = {}): Engine {
  const engine = natsEngine({ servers: SERVERS, stream, ...options });
  engines.push(engine);
  return engine;
}

function conformanceStream(id: string): string {
  const stream = `C_${id.replace(/[^A-Za-z0-9]/g, '_').toUpperCase()}`;
  streams.add(stream);
  return stream;
}

// One partition: the whole subscription is one ordered lane, so a single process sees the log in
// order across keys, as on SQLite.
engineConformance('nats, 1 partition', async (context) => {
  const stream = conformanceStream(context.id);
  const open = () => natsEngine({ servers: SERVERS, stream, partitions: 1 });
  return { engine: open(), reopen: async () => open() };
}, { atomicBatches: false });

// The default partition count: order holds per key (across keys only within a partition), and
// every partition this process leases is pulled ahead, so `inFlight` also counts fetched events.
engineConformance(
  'nats, default partitions',
  async (context) => {
    const stream = conformanceStream(context.id);
    const open = () => natsEngine({ servers: SERVERS, stream });
    return { engine: open(), reopen: async () => open() };
  },
  { logOrderAcrossKeys: false, exactInFlight: false, atomicBatches: false },
);

let counter = 0;
function event(key: string, data: Record<string, unknown> = {}, id = randomUUID()): UnstoredEvent {
  counter += 1;
  return {
    specversion: '1.0',
    id,
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
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('nats engine on the real JetStream server', () => {
  it('stores an id once within the duplicate window and returns the original sequence', async () => {
    const engine = engineOn(uniqueStream(), { duplicateWindowMs: 1_000 });
    const first = event('k1');
    const [stored] = await engine.append([first]);
    const again = await engine.append([event('k2'), first, first]);
    expect(stored.duplicate).toBe(false);
    expect(again[1]).toEqual({ id: first.id, sequence: stored.sequence, duplicate: true });
    expect(again[2]).toEqual({ id: first.id, sequence: stored.sequence, duplicate: true });
    expect(await engine.head()).toBe(2);
    // Past the window the server has forgotten the id: the documented limit of deduplication.
    await sleep(1_500);
    const [later] = await engine.append([first]);
    expect(later.duplicate).toBe(false);
    expect(later.sequence).toBe(3);
  });

  it('shares a key-ordered subscription between two instances by partition, keeping per-key order through the rebalance', async () => {
    const stream = uniqueStream();
    const a = engineOn(stream, { partitions: 8, leaseTtlMs: 1_000 });
    await a.head();
    // Joins the stream a created and takes its partition count.
    const b = engineOn(stream, { leaseTtlMs: 1_000 });
    const keys = Array.from({ length: 12 }, (_, i) => `order-${i}`);
    let published = 0;
    const publish = async (engine: Engine, count: number) => {
      await engine.append(Array.from({ length: count }, () => event(keys[published % keys.length], { i: published++ })));
    };

    const busy = new Set<string>();
    const seen = new Map<string, number[]>();
    const byInstance = { a: 0, b: 0 };
    let overlaps = 0;
    const handled = () => [...seen.values()].reduce((n, list) => n + list.length, 0);
    const handler = (instance: 'a' | 'b') => async (events: readonly CloudEvent[]): Promise<Outcome[]> => {
      const [e] = events;
      const key = e.partitionkey as string;
      if (busy.has(key)) overlaps += 1;
      busy.add(key);
      await sleep(Math.random() * 3);
      seen.set(key, [...(seen.get(key) ?? []), e.sequence]);
      byInstance[instance] += 1;
      busy.delete(key);
      return [{ kind: 'ack' }];
    };
    const options = resolveSubscriptionOptions({ name: 'orders.projection', types: ['order.*'], concurrency: 4 });
    const subA = await a.consume(options, handler('a'));
    await publish(a, 60);
    await eventually(() => handled() === 60);
    expect(byInstance).toEqual({ a: 60, b: 0 });

    // b joins: a gives back half of the partitions (after finishing what it runs), b takes them.
    const subB = await b.consume(options, handler('b'));
    await eventually(async () => {
      await publish(b, 24);
      await sleep(100);
      return byInstance.b > 0 && byInstance.a > 60;
    });
    await eventually(() => handled() === published);
    await Promise.all([subA.close(), subB.close()]);

    expect(overlaps).toBe(0);
    for (const [, sequences] of seen) expect(sequences).toEqual([...sequences].sort((x, y) => x - y));
    expect(new Set([...seen.values()].flat()).size).toBe(published);
    const [info] = await b.subscriptions();
    expect(info).toMatchObject({ name: 'orders.projection', lag: 0, inFlight: 0, position: await b.head() });
  });

  it('moves the partitions of a vanished instance to another one, whose first event of a key is the one left unfinished', async () => {
    const stream = uniqueStream();
    const connection = await connect({ servers: SERVERS });
    // Not in `engines`: it dies with its connection and is never closed cleanly.
    const doomed = natsEngine({ connection, stream, partitions: 1, leaseTtlMs: 1_000, ackWaitMs: 2_000 });
    await doomed.head();
    const survivor = engineOn(stream, { leaseTtlMs: 1_000, ackWaitMs: 2_000 });
    let unblock!: () => void;
    const stuck = new Promise<void>((resolve) => (unblock = resolve));
    const doomedGot: number[] = [];
    const survivorGot: number[] = [];
    const options = resolveSubscriptionOptions({ name: 'stock.reservations', types: ['order.*'] });
    await doomed.consume(options, async (events) => {
      doomedGot.push((events[0].data as { step: number }).step);
      await stuck;
      return [{ kind: 'ack' }];
    });
    await survivor.append([event('order-1', { step: 1 })]);
    await eventually(() => doomedGot.length === 1);
    await survivor.consume(options, async (events) => {
      survivorGot.push((events[0].data as { step: number }).step);
      return [{ kind: 'ack' }];
    });
    await survivor.append([event('order-1', { step: 2 })]);
    await sleep(300);
    expect(survivorGot).toEqual([]);

    await connection.close();
    await eventually(() => survivorGot.length === 2, 10_000);
    expect(survivorGot).toEqual([1, 2]);
    unblock();
  });

  it('hands a partition over while a batch of a key fails: the next owner gets the failed event first, then the rest of its key', async () => {
    const stream = uniqueStream();
    const a = engineOn(stream, { partitions: 2, leaseTtlMs: 1_000 });
    await a.head();
    const b = engineOn(stream, { leaseTtlMs: 1_000 });
    // Alone, a owns both partitions; once b joins, a keeps partition 0 and gives partition 1 back.
    const key = Array.from({ length: 50 }, (_, i) => `order-${i}`).find((k) => partitionOf(k, 2) === 1)!;
    const step = (e: CloudEvent) => (e.data as { step: number }).step;
    let unblock!: () => void;
    const blocked = new Promise<void>((resolve) => (unblock = resolve));
    const aGot: number[][] = [];
    const bGot: { step: number; attempt: number; at: number }[] = [];
    let failedAt = 0;
    const options = resolveSubscriptionOptions({ name: 'orders.handover', types: ['order.*'], maxBatchSize: 10, maxWaitMs: 200 }, 'batch');
    await a.consume(options, async (events) => {
      aGot.push(events.map(step));
      // Step 1 fails and the rest of its key in the batch is held back behind it, once a is giving the partition back.
      await blocked;
      failedAt = Date.now();
      return events.map((e, i): Outcome => (i === 0 && step(e) === 1 ? { kind: 'retry', error: 'down', delayMs: 500 } : step(e) > 1 ? { kind: 'held', error: 'behind step 1' } : { kind: 'ack' }));
    });
    await a.append([event(key, { step: 1 }), event(key, { step: 2 })]);
    await eventually(() => aGot.length === 1);
    expect(aGot[0]).toEqual([1, 2]);
    // Waits in a behind the running batch (or in the log): either way behind step 1.
    await a.append([event(key, { step: 3 })]);
    await b.consume(options, async (events, context) => {
      for (const e of events) bGot.push({ step: step(e), attempt: context.attempt, at: Date.now() });
      return events.map((): Outcome => ({ kind: 'ack' }));
    });
    // a sees b at its next renewal (every quarter of the lease time) and starts giving partition 1
    // back: it stops pulling (no pull request of it waits on the server any more) and waits for the
    // running batch, which then fails.
    const jsm = await manager();
    await sleep(500);
    await eventually(async () => (await jsm.consumers.info(stream, consumerName('orders.handover', { kind: 'partition', partition: 1 }))).num_waiting === 0);
    unblock();
    await eventually(() => bGot.length >= 3, 10_000);
    await sleep(200);
    expect(bGot.map((g) => g.step)).toEqual([1, 2, 3]);
    // Its failed attempt counts on b, this is the second, and b keeps the retry's due time.
    expect(bGot[0].attempt).toBe(2);
    expect(bGot[0].at - failedAt).toBeGreaterThanOrEqual(500 - 20);
    expect(aGot).toEqual([[1, 2]]);
  });

  it('shows dead letters to another instance, which retries them to the subscription only and discards them', async () => {
    const stream = uniqueStream();
    const worker = engineOn(stream);
    const admin = engineOn(stream);
    const poison = event('p1');
    const fine = event('p2');
    await worker.append([poison, fine]);
    let healed = false;
    const attempts: string[] = [];
    const other: string[] = [];
    await worker.consume(resolveSubscriptionOptions({ name: 'other', types: ['*'] }), async (events) => {
      other.push(events[0].id);
      return [{ kind: 'ack' }];
    });
    await worker.consume(resolveSubscriptionOptions({ name: 'mailer', types: ['order.placed'], retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 20 } }), async (events, context) => {
      attempts.push(`${events[0].id === poison.id ? 'poison' : 'fine'}#${context.attempt}`);
      if ((events[0].data as { broken?: boolean }).broken) return [{ kind: 'dead', error: 'no such address' }];
      return [events[0].id === poison.id && !healed ? { kind: 'retry', error: 'smtp down' } : { kind: 'ack' }];
    });

    await eventually(async () => (await admin.deadLetters('mailer')).length === 1);
    const [letter] = await admin.deadLetters('mailer');
    expect(letter).toMatchObject({ subscription: 'mailer', error: 'smtp down', attempts: 3, event: { id: poison.id, sequence: 1 } });
    expect(Date.parse(letter.firstFailedAt)).toBeLessThanOrEqual(Date.parse(letter.lastFailedAt));
    expect(attempts.filter((a) => a.startsWith('poison'))).toEqual(['poison#1', 'poison#2', 'poison#3']);
    // The dead letter is stored before the message is terminated: the lag follows a moment later.
    await eventually(async () => (await admin.subscriptions()).find((s) => s.name === 'mailer')?.lag === 0);
    const mailer = (await admin.subscriptions()).find((s) => s.name === 'mailer');
    // The worker's consumer counts in every process.
    expect(mailer).toMatchObject({ deadLetters: 1, retrying: 0, lag: 0, consumers: 1 });
    expect((await worker.subscriptions()).find((s) => s.name === 'mailer')?.consumers).toBe(1);

    healed = true;
    expect(await admin.retryDeadLetters('mailer')).toBe(1);
    await eventually(() => attempts.filter((a) => a === 'poison#1').length === 2);
    await eventually(async () => (await admin.subscriptions()).find((s) => s.name === 'mailer')?.deadLetters === 0);
    expect(other.filter((id) => id === poison.id)).toHaveLength(1);

    const broken = event('p3', { broken: true });
    await admin.append([broken]);
    await eventually(async () => (await admin.deadLetters('mailer')).length === 1);
    expect(await admin.discardDeadLetters('mailer', broken.id)).toBe(1);
    expect(await admin.deadLetters('mailer')).toEqual([]);
    await expect(admin.deadLetters('nobody')).rejects.toThrow(/unknown subscription/);
  });

  it('lists its subscriptions while other consumers of the stream are created and deleted', async () => {
    // Another process counting a delayed subscription's scheduled events makes and deletes a
    // short-lived consumer; NATS 2.9 lists one deleted mid-list as null.
    const stream = uniqueStream();
    const engine = engineOn(stream);
    await engine.append([event('c1')]);
    await engine.consume(resolveSubscriptionOptions({ name: 'listed', types: ['*'] }), async () => [{ kind: 'ack' }]);
    const jsm = await manager();
    const until = Date.now() + 2_000;
    const churn = (async () => {
      while (Date.now() < until) {
        const made = await Promise.all(Array.from({ length: 8 }, () => jsm.consumers.add(stream, { ack_policy: AckPolicy.None, mem_storage: true })));
        await Promise.all(made.map((info) => jsm.consumers.delete(stream, info.name)));
      }
    })();
    let lists = 0;
    while (Date.now() < until) {
      expect((await engine.subscriptions()).map((s) => s.name)).toEqual(['listed']);
      lists += 1;
    }
    await churn;
    expect(lists).toBeGreaterThan(10);
  });

  it('rejects a batch it could not store entirely, naming what was stored', async () => {
    const stream = uniqueStream();
    const engine = engineOn(stream, { appendRetryMs: 200, publishTimeoutMs: 1_000 });
    await engine.head();
    const jsm = await manager();
    const info = await jsm.streams.info(stream);
    await jsm.streams.update(stream, { ...info.config, max_msgs: 2, discard: 'new' as never });
    const batch = [event('a'), event('b'), event('c')];
    const error = await engine.append(batch).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(PartialAppendError);
    const results = (error as PartialAppendError).results;
    expect(results.filter((r) => r !== undefined)).toHaveLength(2);
    expect(results[2]).toBeUndefined();
    // The stored ones are not stored twice when the caller tries again.
    await jsm.streams.update(stream, { ...info.config, max_msgs: -1 });
    const retried = await engine.append(batch);
    expect(retried.map((r) => r.duplicate)).toEqual([true, true, false]);
    expect(await engine.head()).toBe(3);
  });

  it('refuses a partition count that differs from the stream it joins', async () => {
    const stream = uniqueStream();
    await engineOn(stream, { partitions: 4 }).head();
    await expect(engineOn(stream, { partitions: 8 }).head()).rejects.toThrow(new StreamSettingsError('partitions', `stream ${stream} has 4 partitions, not the configured 8: the count is fixed when the stream is created`));
    await expect(engineOn(stream).head()).resolves.toBe(0);
  });

  it('updates the duplicate window and replicas of existing streams to the configured ones', async () => {
    const stream = uniqueStream();
    await engineOn(stream, { duplicateWindowMs: 120_000 }).head();
    const jsm = await manager();
    // Replicas recorded above the one copy a single server keeps (JetStream 2.9 accepts the update).
    for (const name of [stream, `${stream}_DLQ`]) {
      const { config } = await jsm.streams.info(name);
      await jsm.streams.update(name, { ...config, num_replicas: 3 });
    }
    await expect(engineOn(stream, { duplicateWindowMs: 5_000 }).head()).resolves.toBe(0);
    const events = (await jsm.streams.info(stream)).config;
    expect(events.duplicate_window).toBe(5_000 * 1_000_000);
    expect(events.num_replicas).toBe(1);
    expect((await jsm.streams.info(`${stream}_DLQ`)).config.num_replicas).toBe(1);
  });

  it('refuses replicas above 1 on a server without a cluster, naming the setting, for a new or an existing stream', async () => {
    const fresh = uniqueStream();
    const refusedNew = await engineOn(fresh, { replicas: 3 }).head().then(() => undefined, (error: unknown) => error);
    expect(refusedNew).toBeInstanceOf(StreamSettingsError);
    expect(refusedNew).toMatchObject({ setting: 'replicas', message: expect.stringMatching(/3 replicas need a JetStream cluster/) });

    const existing = uniqueStream();
    await engineOn(existing).head();
    const refused = await engineOn(existing, { replicas: 3 }).head().then(() => undefined, (error: unknown) => error);
    expect(refused).toBeInstanceOf(StreamSettingsError);
    expect(refused).toMatchObject({ setting: 'replicas', message: `stream ${existing}: 3 replicas need a JetStream cluster, and the server runs without one (it keeps one copy)` });
    expect((await (await manager()).streams.info(existing)).config.num_replicas).toBe(1);
  });

  it('refuses, naming the setting, a change JetStream does not allow', async () => {
    const stream = uniqueStream();
    const jsm = await manager();
    await engineOn(stream).head();
    // A duplicate window longer than the stream's max age is one JetStream refuses.
    const { config } = await jsm.streams.info(stream);
    await jsm.streams.update(stream, { ...config, max_age: 60_000 * 1_000_000, duplicate_window: 60_000 * 1_000_000 });
    const refused = await engineOn(stream, { duplicateWindowMs: 120_000 }).head().then(() => undefined, (error: unknown) => error);
    expect(refused).toBeInstanceOf(StreamSettingsError);
    expect(refused).toMatchObject({ setting: 'duplicateWindowMs', message: expect.stringMatching(new RegExp(`^stream ${stream}: JetStream refused to change duplicate window from 60000 ms to 120000 ms \\(.+\\)$`)) });
    expect((await jsm.streams.info(stream)).config.duplicate_window).toBe(60_000 * 1_000_000);
  });

  it('fails every call when the server cannot be reached', async () => {
    const engine = natsEngine({ servers: 'nats://127.0.0.1:1', stream: uniqueStream() });
    await expect(engine.head()).rejects.toThrow();
    await expect(engine.append([event('x')])).rejects.toThrow();
    await engine.close();
  });
});
