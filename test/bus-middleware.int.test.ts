/**
 * The bus's middleware hook (issue 16 item 8): every publish and every handler call passes through
 * the middleware given to `createBus`, outermost first; a middleware may set a field on the way out
 * (a trace context) and sees the handler's failure. Real SQLite engine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createBus, failPermanently, type Bus, type BusMiddleware } from '../src/bus/index.ts';
import { sqliteEngine } from '../src/engines/sqlite/index.ts';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
let dir: string;
let bus: Bus;
let seen: string[];

const recorder = (name: string): BusMiddleware => ({
  async publish(events, next) {
    seen.push(`${name}:publish:${events.map((e) => e.type).join(',')}`);
    const results = await next(events);
    seen.push(`${name}:published:${results.length}`);
    return results;
  },
  async handle(call, next) {
    seen.push(`${name}:handle:${call.subscription}:${call.events.map((e) => e.type).join(',')}:${call.attempt}`);
    try {
      await next();
      seen.push(`${name}:handled`);
    } catch (error) {
      seen.push(`${name}:failed:${(error as Error).message}`);
      throw error;
    }
  },
});
/** Sets a trace context on events that have none, as a tracing middleware would. */
const tracing: BusMiddleware = {
  publish: (events, next) => next(events.map((e) => (e.traceparent ? e : { ...e, traceparent: TRACEPARENT }))),
};

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'flamingo-middleware-'));
  seen = [];
  bus = createBus({ engine: sqliteEngine({ file: path.join(dir, 'bus.db') }), middleware: [recorder('outer'), recorder('inner'), tracing] });
});
afterEach(async () => {
  await bus.close();
  rmSync(dir, { recursive: true, force: true });
});

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out; seen ${JSON.stringify(seen)}`);
    await sleep(10);
  }
}

const registered = (userId: string) => ({ type: 'user.registered' as const, data: { userId, email: `${userId}@example.com`, name: 'Ada' } });

it('runs every publish through the middleware, outermost first, and stores what it passes on', async () => {
  const results = await bus.publishAll([registered('u-1'), registered('u-2')]);
  expect(seen).toEqual(['outer:publish:user.registered,user.registered', 'inner:publish:user.registered,user.registered', 'inner:published:2', 'outer:published:2']);
  const [stored] = await bus.read({ types: ['user.registered'], limit: 1 });
  expect(stored.id).toBe(results[0].id);
  expect(stored.traceparent).toBe(TRACEPARENT);
});

it('runs every handler call through the middleware, which sees a failure as the handler threw it', async () => {
  await bus.publish(registered('u-ok'));
  await bus.publish(registered('u-bad'));
  seen = [];
  const handled: string[] = [];
  const subscription = await bus.subscribe({ name: 'watched', types: ['user.registered'], retry: { maxAttempts: 1 } }, async (event) => {
    if (event.data.userId === 'u-bad') throw failPermanently('refused by the test');
    handled.push(event.data.userId);
  });
  try {
    await until(() => seen.filter((line) => line.startsWith('outer:handled') || line.startsWith('outer:failed')).length === 2);
    expect(handled).toEqual(['u-ok']);
    expect(seen).toContain('outer:handle:watched:user.registered:1');
    expect(seen.indexOf('outer:handle:watched:user.registered:1')).toBeLessThan(seen.indexOf('inner:handle:watched:user.registered:1'));
    expect(seen).toContain('inner:failed:refused by the test');
    expect(seen).toContain('outer:failed:refused by the test');
    let letters = await bus.deadLetters('watched');
    for (let i = 0; i < 200 && letters.length === 0; i++) letters = (await sleep(25), await bus.deadLetters('watched'));
    expect(letters.map((l) => l.event.data)).toMatchObject([{ userId: 'u-bad' }]);
  } finally {
    await subscription.close();
  }
});

it('wraps batch handler calls too', async () => {
  await bus.publishAll([registered('b-1'), registered('b-2')]);
  seen = [];
  const batches: number[] = [];
  const subscription = await bus.subscribeBatch({ name: 'batched', types: ['user.registered'], maxBatchSize: 10 }, async (events) => {
    batches.push(events.length);
  });
  try {
    await until(() => batches.reduce((a, b) => a + b, 0) === 2);
    await until(() => seen.filter((line) => line === 'outer:handled').length === batches.length);
    expect(seen.filter((line) => line.startsWith('outer:handle:batched:'))).toHaveLength(batches.length);
  } finally {
    await subscription.close();
  }
});

it('passes a batch handler\'s per-event results through the middleware: each event gets its own outcome', async () => {
  await bus.publishAll([registered('u-1'), registered('u-bad'), registered('u-3')]);
  const calls: string[][] = [];
  const subscription = await bus.subscribeBatch(
    { name: 'batched', types: ['user.registered'], startAt: 'beginning', maxBatchSize: 10, retry: { maxAttempts: 1 } },
    async (events) => {
      calls.push(events.map((e) => e.data.userId));
      return events.map((e) => (e.data.userId === 'u-bad' ? failPermanently('refused by the test') : undefined));
    },
  );
  try {
    let letters = await bus.deadLetters('batched');
    for (let i = 0; i < 200 && letters.length === 0; i++) letters = (await sleep(25), await bus.deadLetters('batched'));
    expect(letters.map((l) => l.event.data)).toMatchObject([{ userId: 'u-bad' }]);
    expect(calls).toEqual([['u-1', 'u-bad', 'u-3']]);
    await until(() => seen.includes('outer:handled'));
    const [info] = (await bus.subscriptions()).filter((s) => s.name === 'batched');
    expect(info.lag).toBe(0);
  } finally {
    await subscription.close();
  }
});
