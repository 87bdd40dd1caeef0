import { afterEach, describe, expect, it } from 'vitest';
import type { CloudEvent, UnstoredEvent } from '../contracts/index.ts';
import { busTables, type BusTables } from './bus-tables.ts';
import { createBus } from './bus.ts';
import { EventValidationError } from './errors.ts';
import { createOutbox, type Outbox, type OutboxOptions } from './outbox.ts';
import { openTestDatabase, type TestDatabase } from './testing/index.ts';
import type { Engine, PublishResult } from './types.ts';

/**
 * The log the relay publishes to: it records every append call, so the tests see exactly what the
 * relay sent (and how often), and stores an id once like every engine. Engines themselves are
 * tested by the conformance suite; the relay's databases here are real.
 */
function recordingEngine() {
  const calls: UnstoredEvent[][] = [];
  const sequences = new Map<string, number>();
  const log: CloudEvent[] = [];
  let failNext: Error | undefined;
  const unsupported = () => Promise.reject(new Error('not used by the outbox'));
  const engine: Engine = {
    name: 'recording',
    async append(events) {
      if (failNext) {
        const error = failNext;
        failNext = undefined;
        throw error;
      }
      calls.push([...events]);
      return events.map((event): PublishResult => {
        const known = sequences.get(event.id);
        if (known !== undefined) return { id: event.id, sequence: known, duplicate: true };
        const sequence = log.length + 1;
        sequences.set(event.id, sequence);
        log.push({ ...event, sequence, recordedtime: new Date().toISOString() });
        return { id: event.id, sequence, duplicate: false };
      });
    },
    read: async () => log,
    head: async () => log.length,
    consume: unsupported,
    subscriptions: unsupported,
    rewind: unsupported,
    deadLetters: unsupported,
    retryDeadLetters: unsupported,
    discardDeadLetters: unsupported,
    close: async () => undefined,
  };
  return {
    engine,
    calls,
    log,
    appendedIds: () => calls.flat().map((event) => event.id),
    failOnce: (error: Error) => (failNext = error),
  };
}

const item = (n: number, cart = '0190a000-0000-7000-8000-0000000000c1') => ({ type: 'cart.item_added' as const, data: { cartId: cart, items: [n], item: n } });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe.each(['sqlite', 'postgres'] as const)('outbox on %s', (dialect) => {
  let database: TestDatabase | undefined;
  const outboxes: Outbox<BusTables>[] = [];
  afterEach(async () => {
    for (const outbox of outboxes.splice(0)) await outbox.stop();
    await database?.close();
    database = undefined;
  });

  async function setup(options: Partial<OutboxOptions<BusTables>> = {}) {
    const opened = await openTestDatabase(dialect);
    database = opened;
    const recording = recordingEngine();
    const bus = createBus({ engine: recording.engine, source: '/services/test' });
    const errors: { error: unknown; permanent: boolean }[] = [];
    const make = (extra: Partial<OutboxOptions<BusTables>> = {}) => {
      const outbox = createOutbox<BusTables>({ db: opened.db, bus, dialect, onError: (error, context) => errors.push({ error, permanent: context.permanent }), ...options, ...extra });
      outboxes.push(outbox);
      return outbox;
    };
    const unsent = async () => Number((await busTables(opened.db).selectFrom('flamingo_outbox').select((eb) => eb.fn.countAll().as('n')).where('sent_at', 'is', null).executeTakeFirstOrThrow()).n);
    return { ...recording, bus, make, errors, unsent, db: opened.db };
  }

  it('publishes what a committed transaction added, with the id and time fixed at add, and marks it sent', async () => {
    const { make, log, unsent, db } = await setup({ pollIntervalMs: 60_000 });
    const outbox = make();
    await outbox.start();
    const before = new Date().toISOString();
    const id = await db.transaction().execute((trx) => outbox.add(trx, { ...item(1), correlationid: 'checkout-1' }));
    await waitFor('the relay', () => log.length === 1);
    expect(log[0]).toMatchObject({ id, type: 'cart.item_added', source: '/services/test', correlationid: 'checkout-1', data: { item: 1 } });
    expect(log[0].time >= before).toBe(true);
    await waitFor('the row marked sent', async () => (await unsent()) === 0);
  });

  it('publishes nothing for a rolled-back transaction', async () => {
    const { make, log, unsent, db } = await setup({ pollIntervalMs: 20 });
    const outbox = make();
    await outbox.start();
    await expect(
      db.transaction().execute(async (trx) => {
        await outbox.add(trx, item(1));
        throw new Error('state change failed');
      }),
    ).rejects.toThrow('state change failed');
    await sleep(80);
    expect(log).toEqual([]);
    expect(await unsent()).toBe(0);
  });

  it('refuses an invalid event inside the transaction', async () => {
    const { make, db } = await setup();
    const outbox = make();
    await expect(db.transaction().execute((trx) => outbox.add(trx, { type: 'cart.item_added', data: { items: 'x' } } as never))).rejects.toBeInstanceOf(EventValidationError);
  });

  it('relays in add order, in batches of batchSize', async () => {
    const { make, calls, log, db } = await setup({ batchSize: 40 });
    const outbox = make();
    const ids: string[] = [];
    for (let t = 0; t < 5; t++) {
      await db.transaction().execute(async (trx) => {
        for (let i = 0; i < 20; i++) ids.push(await outbox.add(trx, item(t * 20 + i)));
      });
    }
    expect(await outbox.relay()).toBe(100);
    expect(log.map((e) => e.id)).toEqual(ids);
    expect(calls.map((c) => c.length)).toEqual([40, 40, 20]);
    expect(await outbox.relay()).toBe(0);
  });

  it('republishes the same ids after a crash between publishing and marking, so the log stores them once', async () => {
    const { make, log, appendedIds, db } = await setup();
    const outbox = make();
    const ids = await db.transaction().execute(async (trx) => [await outbox.add(trx, item(1)), await outbox.add(trx, item(2))]);
    await outbox.relay();
    // The crash: the rows were published but their `sent_at` never written.
    await busTables(db).updateTable('flamingo_outbox').set({ sent_at: null }).execute();
    await outbox.relay();
    expect(appendedIds()).toEqual([...ids, ...ids]);
    expect(log.map((e) => e.id)).toEqual(ids);
  });

  it('keeps unsent rows after a failed publish and sends them on a later pass', async () => {
    const { make, log, failOnce, errors, db, unsent } = await setup({ pollIntervalMs: 30 });
    const outbox = make();
    failOnce(new Error('engine unavailable'));
    await db.transaction().execute((trx) => outbox.add(trx, item(1)));
    await outbox.start();
    await waitFor('the retried publish', () => log.length === 1);
    expect(errors.some((e) => !e.permanent && String(e.error).includes('engine unavailable'))).toBe(true);
    await waitFor('the row marked sent', async () => (await unsent()) === 0);
  });

  it('sets aside an event the catalog no longer accepts and relays the rest', async () => {
    const { make, log, errors, db } = await setup();
    const outbox = make();
    const first = await db.transaction().execute((trx) => outbox.add(trx, item(1)));
    await busTables(db)
      .insertInto('flamingo_outbox')
      .values({ id: 'retired-1', type: 'cart.teleported', event: JSON.stringify({ type: 'cart.teleported', id: 'retired-1', data: {} }), created_at: new Date().toISOString() })
      .execute();
    const last = await db.transaction().execute((trx) => outbox.add(trx, item(3)));
    await outbox.relay();
    expect(log.map((e) => e.id)).toEqual([first, last]);
    expect(errors).toEqual([{ error: expect.objectContaining({ name: 'UnknownEventTypeError' }), permanent: true }]);
    const retired = await busTables(db).selectFrom('flamingo_outbox').selectAll().where('id', '=', 'retired-1').executeTakeFirstOrThrow();
    expect(retired.sent_at).toBeNull();
    expect(retired.failed_at).not.toBeNull();
    expect(retired.last_error).toContain('cart.teleported');
  });

  it('adding an id twice stores and publishes it once', async () => {
    const { make, log, db } = await setup();
    const outbox = make();
    const id = '0190a000-0000-7000-8000-0000000000ff';
    await db.transaction().execute(async (trx) => {
      await outbox.add(trx, { ...item(1), id });
      await outbox.add(trx, { ...item(1), id });
    });
    await outbox.relay();
    expect(log.map((e) => e.id)).toEqual([id]);
  });

  it.runIf(dialect === 'sqlite')('is woken in-process right after the commit, without polling', async () => {
    const { make, log, db } = await setup({ pollIntervalMs: 60_000 });
    const outbox = make();
    await outbox.start();
    const started = Date.now();
    await db.transaction().execute((trx) => outbox.add(trx, item(1)));
    await waitFor('the relay', () => log.length === 1, 1_000);
    expect(Date.now() - started).toBeLessThan(200);
  });

  it.runIf(dialect === 'postgres')('is woken by NOTIFY at commit when another process added the event', async () => {
    const { make, log } = await setup({ pollIntervalMs: 60_000 });
    const relaying = make({ databaseUrl: database!.databaseUrl });
    await relaying.start();
    // A second process: its own pool and outbox, not relaying, so only the NOTIFY can wake the first.
    const otherDb = database!.openAnother();
    const writer = make({ db: otherDb });
    await sleep(50);
    const started = Date.now();
    await otherDb.transaction().execute((trx) => writer.add(trx, item(1)));
    await waitFor('the relay', () => log.length === 1, 2_000);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it.runIf(dialect === 'postgres')('lets two processes relay one database: every event once, in order', async () => {
    const { make, log, appendedIds, db } = await setup({ pollIntervalMs: 5, batchSize: 7 });
    const one = make();
    const two = make({ db: database!.openAnother() });
    await Promise.all([one.start(), two.start()]);
    const ids: string[] = [];
    for (let t = 0; t < 10; t++) {
      await db.transaction().execute(async (trx) => {
        for (let i = 0; i < 10; i++) ids.push(await one.add(trx, item(t * 10 + i)));
      });
    }
    await waitFor('100 events', () => log.length === 100);
    await sleep(50);
    expect(appendedIds()).toEqual(ids);
  });
});
