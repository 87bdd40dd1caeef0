import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import type { CloudEvent } from '../contracts/index.ts';
import { busTablesMigration } from './bus-tables.ts';
import { buildEvent } from './envelope.ts';
import { handleOnce, handleOnceBatch, markAllHandled, markHandled, pruneInbox } from './handle-once.ts';
import { openTestDatabase, type TestDatabase } from './testing/index.ts';
import { failPermanently } from './errors.ts';
import type { DeliveredEvent } from './types.ts';

/** A projection table of the "service", written by the handler in the inbox's transaction. */
type Db = { seen: { event_id: string; note: string } };

const stored = (item: number, partitionkey?: string): DeliveredEvent<'cart.item_added'> =>
  ({
    ...buildEvent({ type: 'cart.item_added', data: { items: [item], item } }),
    ...(partitionkey === undefined ? {} : { partitionkey }),
    sequence: item,
    recordedtime: new Date().toISOString(),
  }) as CloudEvent as DeliveredEvent<'cart.item_added'>;

describe.each(['sqlite', 'postgres'] as const)('handleOnce on %s', (dialect) => {
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await database?.close();
    database = undefined;
  });

  async function setup() {
    const opened = await openTestDatabase(dialect);
    database = opened;
    await opened.db.schema.createTable('seen').addColumn('event_id', 'text').addColumn('note', 'text').execute();
    const db = opened.db.withTables<Db>();
    const rows = async () => (await db.selectFrom('seen').select(['event_id', 'note']).orderBy('note').execute()).map((r) => r.note);
    return { db, rows };
  }

  it('runs the handler once per subscription and event, in the transaction of its inbox record', async () => {
    const { db, rows } = await setup();
    const handler = handleOnce<Db, 'cart.item_added'>(db, async (event, trx, context) => {
      await trx.insertInto('seen').values({ event_id: event.id, note: `${context.subscription}:${event.data.item}` }).execute();
    });
    const event = stored(1);
    await handler(event, { subscription: 'projection', attempt: 1 });
    await handler(event, { subscription: 'projection', attempt: 2 });
    await handler(event, { subscription: 'other', attempt: 1 });
    await handler(stored(2), { subscription: 'projection', attempt: 1 });
    expect(await rows()).toEqual(['other:1', 'projection:1', 'projection:2']);
  });

  it('rolls back the inbox record with the handler, so a retry runs it again', async () => {
    const { db, rows } = await setup();
    let calls = 0;
    const handler = handleOnce<Db, 'cart.item_added'>(db, async (event, trx) => {
      calls++;
      await trx.insertInto('seen').values({ event_id: event.id, note: `try ${calls}` }).execute();
      if (calls === 1) throw new Error('downstream down');
    });
    const event = stored(1);
    await expect(handler(event, { subscription: 's', attempt: 1 })).rejects.toThrow('downstream down');
    expect(await rows()).toEqual([]);
    await handler(event, { subscription: 's', attempt: 2 });
    await handler(event, { subscription: 's', attempt: 3 });
    expect(await rows()).toEqual(['try 2']);
    expect(calls).toBe(2);
  });

  it('lets one of two concurrent deliveries of the same event through', async () => {
    const { db, rows } = await setup();
    // PostgreSQL: two pools, as two processes would have. SQLite: a process has one connection per file.
    const other = dialect === 'postgres' ? database!.openAnother().withTables<Db>() : db;
    const effect = (target: typeof db) =>
      handleOnce<Db, 'cart.item_added'>(target, async (event, trx) => {
        await trx.insertInto('seen').values({ event_id: event.id, note: 'handled' }).execute();
        await new Promise((resolve) => setTimeout(resolve, 20));
      });
    const event = stored(7);
    await Promise.all([effect(db)(event, { subscription: 's', attempt: 1 }), effect(other)(event, { subscription: 's', attempt: 1 })]);
    expect(await rows()).toEqual(['handled']);
  });

  it('handles a batch in one transaction, once per event, and runs what the handler asked after the commit', async () => {
    const { db, rows } = await setup();
    let committedRowsSeen: string[] | undefined;
    const handler = handleOnceBatch<Db, 'cart.item_added'>(db, async (event, trx) => {
      await trx.insertInto('seen').values({ event_id: event.id, note: `b${event.data.item}` }).execute();
      return event.data.item === 2 ? () => void rows().then((seen) => (committedRowsSeen = seen)) : undefined;
    });
    const events = [stored(1), stored(2), stored(3)];
    await handler([events[0]], { subscription: 's', attempt: 1 });
    expect(await handler(events, { subscription: 's', attempt: 1 })).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(committedRowsSeen).toEqual(['b1', 'b2', 'b3']);
    expect(await rows()).toEqual(['b1', 'b2', 'b3']);
  });

  it('keys the inbox records of a batch on source + id: one id from two sources is two events, each handled once', async () => {
    const { db, rows } = await setup();
    const handler = handleOnceBatch<Db, 'cart.item_added'>(db, async (event, trx) => {
      await trx.insertInto('seen').values({ event_id: event.id, note: `${event.source}:${event.data.item}` }).execute();
    });
    const fromA = { ...stored(1), source: '/shop-a', id: 'same-id' };
    const fromB = { ...stored(2), source: '/shop-b', id: 'same-id' };
    expect(await handler([fromA, fromB], { subscription: 's', attempt: 1 })).toBeUndefined();
    expect(await handler([fromA, fromB], { subscription: 's', attempt: 2 })).toBeUndefined();
    expect(await rows()).toEqual(['/shop-a:1', '/shop-b:2']);
  });

  it('splits a failing batch: each event its own transaction and result, later events of a failed key held back', async () => {
    const { db, rows } = await setup();
    const calls: number[] = [];
    const handler = handleOnceBatch<Db, 'cart.item_added'>(db, async (event, trx) => {
      calls.push(event.data.item);
      await trx.insertInto('seen').values({ event_id: event.id, note: `n${event.data.item}` }).execute();
      if (event.data.item === 2) throw new Error('bad item 2');
      if (event.data.item === 5) throw failPermanently('never');
    });
    // 1 (key a), 2 (key b, fails), 3 (key a), 4 (key b: behind 2), 5 (no key, dead), 6 (no key)
    const events = [stored(1, 'a'), stored(2, 'b'), stored(3, 'a'), stored(4, 'b'), stored(5), stored(6)];
    const results = (await handler(events, { subscription: 's', attempt: 1 })) as unknown[];
    expect(results).toHaveLength(6);
    expect(results[0]).toBeUndefined();
    expect(String(results[1])).toContain('bad item 2');
    expect(results[2]).toBeUndefined();
    expect(String(results[3])).toContain(`held back behind event ${events[1].id}`);
    expect(results[4]).toMatchObject({ name: expect.stringMatching(/Permanent/) });
    expect(results[5]).toBeUndefined();
    // The batch's transaction stopped at 2; then one by one, 4 never ran after 2 failed, and what
    // failed rolled back while the rest committed.
    expect(calls).toEqual([1, 2, 1, 2, 3, 5, 6]);
    expect(await rows()).toEqual(['n1', 'n3', 'n6']);
  });

  it('tells a first record from a repeated one, and prunes old records', async () => {
    await setup();
    const db = database!.db;
    const e1 = { source: '/a', id: 'e1' };
    expect(await db.transaction().execute((trx) => markHandled(trx, 's', e1))).toBe(true);
    expect(await db.transaction().execute((trx) => markHandled(trx, 's', e1))).toBe(false);
    expect(await pruneInbox(db, new Date(Date.now() - 60_000))).toBe(0);
    expect(await pruneInbox(db, new Date(Date.now() + 1_000))).toBe(1);
    expect(await db.transaction().execute((trx) => markHandled(trx, 's', e1))).toBe(true);
  });

  it('keys the inbox on source + id: one id from two sources is two events; a record of the id alone still counts', async () => {
    await setup();
    const db = database!.db;
    expect(await db.transaction().execute((trx) => markHandled(trx, 's', { source: '/shop-a', id: '1' }))).toBe(true);
    expect(await db.transaction().execute((trx) => markHandled(trx, 's', { source: '/shop-b', id: '1' }))).toBe(true);
    expect(await db.transaction().execute((trx) => markHandled(trx, 's', { source: '/shop-b', id: '1' }))).toBe(false);
    await db.insertInto('flamingo_inbox').values({ subscription: 's', event_id: 'legacy-1', handled_at: new Date().toISOString() }).execute();
    expect(await db.transaction().execute((trx) => markHandled(trx, 's', { source: '/shop-a', id: 'legacy-1' }))).toBe(false);
  });

  it('finishes each transaction with the events the handler ran for, and splits a batch whose finish fails', async () => {
    const { db, rows } = await setup();
    const finished: number[][] = [];
    const handler = handleOnceBatch<Db, 'cart.item_added'>(db, async () => {}, {
      finish: async (trx, handled) => {
        finished.push(handled.map((event) => event.data.item));
        if (handled.some((event) => event.data.item === 4)) throw new Error('bad item 4');
        await trx.insertInto('seen').values(handled.map((event) => ({ event_id: event.id, note: `f${event.data.item}` }))).execute();
      },
    });
    const events = [stored(1), stored(2), stored(3), stored(4), stored(5)];
    await handler([events[1]], { subscription: 's', attempt: 1 });
    const results = (await handler(events, { subscription: 's', attempt: 1 })) as unknown[];
    expect(Array.from(results, (result) => (result === undefined ? 'ok' : String(result)))).toEqual(['ok', 'ok', 'ok', 'Error: bad item 4', 'ok']);
    // The batch (2 handled before), then one by one: 2 is skipped, 4 fails alone.
    expect(finished).toEqual([[2], [1, 3, 4, 5], [1], [3], [4], [5]]);
    expect(await rows()).toEqual(['f1', 'f2', 'f3', 'f5']);
  });

  it('records many events in one call: first records, repeats, an event listed twice, a record of the id alone', async () => {
    await setup();
    const db = database!.db;
    await db.insertInto('flamingo_inbox').values({ subscription: 's', event_id: 'legacy-2', handled_at: new Date().toISOString() }).execute();
    await db.transaction().execute((trx) => markHandled(trx, 's', { source: '/a', id: 'seen' }));
    const events = [
      { source: '/a', id: 'new-1' },
      { source: '/a', id: 'seen' },
      { source: '/a', id: 'new-1' },
      { source: '/a', id: 'legacy-2' },
      { source: '/b', id: 'new-1' },
    ];
    expect(await db.transaction().execute((trx) => markAllHandled(trx, 's', events))).toEqual([true, false, false, false, true]);
    expect(await db.transaction().execute((trx) => markAllHandled(trx, 's', events))).toEqual([false, false, false, false, false]);
    expect(await db.transaction().execute((trx) => markAllHandled(trx, 'other', events))).toEqual([true, true, false, true, true]);
  });

  it('records a batch larger than one statement takes', async () => {
    await setup();
    const db = database!.db;
    const events = Array.from({ length: 2_500 }, (_, i) => ({ source: '/a', id: `e${i}` }));
    await db.transaction().execute((trx) => markAllHandled(trx, 's', events.slice(1_200, 1_300)));
    const first = await db.transaction().execute((trx) => markAllHandled(trx, 's', events));
    expect(first.filter((f) => !f)).toHaveLength(100);
    expect(first.slice(1_200, 1_300).some(Boolean)).toBe(false);
  });

  it('creates the bus tables idempotently', async () => {
    await setup();
    await busTablesMigration.up(database!.db);
    const { rows } = await sql<{ n: number | string }>`select count(*) as n from flamingo_outbox`.execute(database!.db);
    expect(Number(rows[0].n)).toBe(0);
  });
});
