/**
 * Fail-over of a key-ordered subscription between processes, with each engine's default lease and
 * ack wait: a child process takes a subscription's partitions and holds its events unfinished; it
 * is killed with SIGKILL, and a survivor in this process must take over within 5 s, starting each
 * key with the event the dead process left unfinished (issue 13).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { UnstoredEvent } from '../src/contracts/index.ts';
import { resolveSubscriptionOptions, type Engine } from '../src/bus/kit/index.ts';
import { natsEngine } from '../src/engines/nats/index.ts';
import { redisEngine } from '../src/engines/redis/index.ts';
import { deleteRedisLog } from './support/stacks.ts';

const HOLDER = fileURLToPath(new URL('./support/failover-holder.ts', import.meta.url));
const FAIL_OVER_BOUND_MS = 5_000;

const children: ChildProcess[] = [];
const engines: Engine[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await Promise.all(engines.splice(0).map((engine) => engine.close().catch(() => undefined)));
});

function orderEvent(orderId: string, step: number): UnstoredEvent {
  return {
    specversion: '1.0',
    id: randomUUID(),
    source: '/failover-test',
    type: 'order.placed',
    subject: `order/${orderId}`,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data: { orderId, step },
    partitionkey: orderId,
  };
}

/** Starts the holder and resolves with it once its consumer is attached; `held` lists the ids it was handed. */
async function startHolder(kind: string, log: string, subscription: string): Promise<{ child: ChildProcess; held: string[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', HOLDER, kind, log, subscription], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const held: string[] = [];
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`holder not ready:\n${output}`)), 20_000);
    child.once('exit', () => reject(new Error(`holder exited:\n${output}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      for (const line of chunk.toString().split('\n')) if (line.startsWith('holding ')) held.push(line.slice(8));
      if (output.includes('ready\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  });
  return { child, held };
}

async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface EngineUnderTest {
  readonly kind: string;
  readonly log: () => string;
  readonly open: (log: string) => Engine;
  readonly drop: (log: string) => Promise<void>;
}

function failOverSuite(under: EngineUnderTest): void {
  describe(`fail-over on ${under.kind} with the default settings`, () => {
    it(`a survivor takes over a SIGKILLed holder's partitions within ${FAIL_OVER_BOUND_MS / 1000} s, starting with the events it left unfinished`, { timeout: 60_000 }, async () => {
      const log = under.log();
      const survivor = under.open(log);
      engines.push(survivor);
      try {
        const subscription = 'orders.fulfilment';
        await survivor.head();
        const holder = await startHolder(under.kind, log, subscription);
        // Keys on every partition: the holder, alone, takes them all.
        const keys = Array.from({ length: 32 }, () => randomUUID());
        const firsts = keys.map((key) => orderEvent(key, 1));
        await survivor.append(firsts);
        // Running all of them, it cannot hand back a partition when the survivor joins.
        await waitFor('the holder to hold every event', () => holder.held.length === keys.length, 10_000);

        const got: { id: string; key: string; step: number; at: number }[] = [];
        await survivor.consume(resolveSubscriptionOptions({ name: subscription, types: ['order.*'], concurrency: 4 }), async (events) => {
          for (const event of events) got.push({ id: event.id, key: event.partitionkey!, step: (event.data as { step: number }).step, at: Date.now() });
          return events.map(() => ({ kind: 'ack' as const }));
        });
        const seconds = keys.map((key) => orderEvent(key, 2));
        await survivor.append(seconds);
        // The holder keeps its partitions while it lives: the survivor gets nothing.
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        expect(got).toEqual([]);

        const heldBeforeKill = [...holder.held];
        const killedAt = Date.now();
        holder.child.kill('SIGKILL');
        await waitFor('the first event after the kill', () => got.length > 0, 15_000);
        const tookOverMs = got[0].at - killedAt;
        await waitFor('every event', () => got.length >= 2 * keys.length, 15_000);
        console.log(`${under.kind}: first event ${tookOverMs} ms after SIGKILL, all ${got.length} after ${got.at(-1)!.at - killedAt} ms`);
        expect(tookOverMs).toBeLessThan(FAIL_OVER_BOUND_MS);
        // Every event of a key the holder had left unfinished comes first, in log order.
        for (const key of keys) expect(got.filter((g) => g.key === key).map((g) => g.step)).toEqual([1, 2]);
        expect(new Set(heldBeforeKill)).toEqual(new Set(firsts.map((e) => e.id)));
      } finally {
        await under.drop(log);
      }
    });
  });
}

failOverSuite({
  kind: 'nats',
  log: () => `F_${randomUUID().replaceAll('-', '').slice(0, 12).toUpperCase()}`,
  open: (stream) => natsEngine({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222', stream }),
  drop: async (stream) => {
    const { connect } = await import('@nats-io/transport-node');
    const { jetstreamManager } = await import('@nats-io/jetstream');
    const nc = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' });
    const jsm = await jetstreamManager(nc);
    for (const name of [stream, `${stream}_DLQ`, `${stream}_LEASES`]) await jsm.streams.delete(name).catch(() => undefined);
    await nc.close();
  },
});

failOverSuite({
  kind: 'redis',
  log: () => `failover-${randomUUID().slice(0, 8)}`,
  open: (prefix) => redisEngine({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', prefix }),
  drop: deleteRedisLog,
});
