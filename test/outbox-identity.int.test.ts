/**
 * The outbox relay under the identity rule (source + id, content compared), on the real SQLite
 * engine and a real service database: a republish after a crash is the same event and stays a
 * quiet duplicate; an outbox event whose identity the log holds with other content is set aside
 * (it can never be published), naming the stored sequence, and the rest is relayed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createBus, createOutbox, type Bus, type BusTables } from '../src/bus/index.ts';
import { openTestDatabase, type TestDatabase } from '../src/bus/testing/index.ts';
import { sqliteEngine } from '../src/engines/sqlite/index.ts';

const item = (n: number) => ({ type: 'cart.item_added' as const, data: { cartId: '0190a000-0000-7000-8000-0000000000c1', items: [n], item: n } });

let database: TestDatabase | undefined;
let bus: Bus | undefined;
afterEach(async () => {
  await bus?.close();
  await database?.close();
  bus = database = undefined;
});

async function setup() {
  database = await openTestDatabase('sqlite');
  const db = database.db;
  bus = createBus({ engine: sqliteEngine({ file: path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'flamingo-outbox-')), 'bus.db') }), source: '/services/test' });
  const errors: { error: unknown; permanent: boolean }[] = [];
  const outbox = createOutbox<BusTables>({ db, bus, dialect: 'sqlite', onError: (error, context) => errors.push({ error, permanent: context.permanent }) });
  return { db, bus, outbox, errors };
}

describe('the outbox relay and event identity', () => {
  it('republishes after a crash between publishing and marking: the same event, a duplicate, no error', async () => {
    const { db, bus, outbox, errors } = await setup();
    const ids = await db.transaction().execute(async (trx) => [await outbox.add(trx, item(1)), await outbox.add(trx, { ...item(2), traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' })]);
    expect(await outbox.relay()).toBe(2);
    await sql`update flamingo_outbox set sent_at = null`.execute(db);
    expect(await outbox.relay()).toBe(2);
    expect(errors).toEqual([]);
    expect((await bus.read({})).map((e) => e.id)).toEqual(ids);
  });

  it('sets aside an event whose source + id the log holds with other content, naming the stored sequence, and relays the rest', async () => {
    const { db, bus, outbox, errors } = await setup();
    const taken = await bus.publish({ ...item(9), id: 'taken-1' });
    const [first, , last] = await db.transaction().execute(async (trx) => [await outbox.add(trx, item(1)), await outbox.add(trx, { ...item(2), id: 'taken-1' }), await outbox.add(trx, item(3))]);
    await outbox.relay();
    await outbox.relay();
    expect(errors).toEqual([{ error: expect.objectContaining({ name: 'IdentityConflictError', message: expect.stringContaining(`sequence ${taken.sequence}`) }), permanent: true }]);
    const aside = await db.selectFrom('flamingo_outbox').selectAll().where('id', '=', 'taken-1').executeTakeFirstOrThrow();
    expect(aside.sent_at).toBeNull();
    expect(aside.failed_at).not.toBeNull();
    expect((await bus.read({})).map((e) => e.id)).toEqual(['taken-1', first, last]);
    expect((await bus.read({}))[0].data).toMatchObject({ item: 9 });
  });
});
