import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type ServiceDatabase } from './db.ts';

interface Db {
  big: { n: number; text: string };
  notes: { id: number; text: string; blob: Buffer | null };
}

let dir: string | undefined;
let database: ServiceDatabase<Db> | undefined;
let server: Server | undefined;
afterEach(async () => {
  await database?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  if (dir) rmSync(dir, { recursive: true, force: true });
  database = server = dir = undefined;
});

async function open(): Promise<Kysely<Db>> {
  dir = mkdtempSync(path.join(os.tmpdir(), 'flamingo-sqlite-worker-'));
  database = await openDatabase<Db>('svc', { dataDir: dir });
  await database.db.schema.createTable('big').addColumn('n', 'integer').addColumn('text', 'text').execute();
  await database.db.schema.createTable('notes').addColumn('id', 'integer', (c) => c.primaryKey()).addColumn('text', 'text', (c) => c.notNull()).addColumn('blob', 'blob').execute();
  return database.db;
}

describe('a service database in a worker thread', () => {
  it('answers an HTTP request while a large commit is in progress', async () => {
    const db = await open();
    const events: string[] = [];
    server = createServer((_request, response) => {
      events.push('request answered');
      response.end('ok');
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

    // Hundreds of thousands of rows written and committed (synchronous=FULL) in one transaction.
    const commit = db
      .transaction()
      .execute(async (trx) => {
        await sql`WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 400000)
                  INSERT INTO big (n, text) SELECT n, printf('%0200d', n) FROM seq`.execute(trx);
      })
      .then(() => events.push('transaction committed'));
    const answer = await fetch(url).then((response) => response.text());
    expect(answer).toBe('ok');
    await commit;
    expect(events).toEqual(['request answered', 'transaction committed']);
    const { count } = await db.selectFrom('big').select((eb) => eb.fn.countAll<number>().as('count')).executeTakeFirstOrThrow();
    expect(Number(count)).toBe(400_000);
  });

  it('keeps SQLite\'s results, errors (with their code), rollbacks and blobs', async () => {
    const db = await open();
    const inserted = await db.insertInto('notes').values({ id: 7, text: 'a', blob: Buffer.from([1, 2, 3]) }).executeTakeFirst();
    expect(inserted.insertId).toBe(7n);
    expect(inserted.numInsertedOrUpdatedRows).toBe(1n);
    const error = await db
      .insertInto('notes')
      .values({ id: 7, text: 'again', blob: null })
      .execute()
      .catch((e: unknown) => e as Error & { code?: string });
    expect(error).toMatchObject({ name: 'SqliteError', code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('notes').values({ id: 8, text: 'rolled back', blob: null }).execute();
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    const rows = await db.selectFrom('notes').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(Buffer.from(rows[0].blob!)).toEqual(Buffer.from([1, 2, 3]));
    const { rows: pragma } = await sql<{ synchronous: number }>`PRAGMA synchronous`.execute(db);
    expect(pragma[0].synchronous).toBe(2); // FULL
  });
});

describe('transactions on the worker (BEGIN carried by their first statement)', () => {
  const ids = async (db: Kysely<Db>) => (await db.selectFrom('notes').select('id').orderBy('id').execute()).map((r) => r.id);

  it('makes the statements of a transaction atomic: a failing second one undoes the first', async () => {
    const db = await open();
    await db.insertInto('notes').values({ id: 7, text: 'a' }).execute();
    const error = await db
      .transaction()
      .execute(async (trx) => {
        await trx.insertInto('notes').values({ id: 8, text: 'b' }).execute();
        await trx.insertInto('notes').values({ id: 7, text: 'duplicate' }).execute();
      })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'SqliteError', code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
    expect(await ids(db)).toEqual([7]);
  });

  it('rolls back a transaction whose first statement fails, and the connection stays usable', async () => {
    const db = await open();
    await db.insertInto('notes').values({ id: 7, text: 'a' }).execute();
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('notes').values({ id: 7, text: 'duplicate' }).execute();
      }),
    ).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
    // No transaction was left open: another one begins, and its rollback undoes it.
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('notes').values({ id: 8, text: 'b' }).execute();
    });
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('notes').values({ id: 9, text: 'c' }).execute();
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    expect(await ids(db)).toEqual([7, 8]);
  });

  it('commits or rolls back a transaction that ran no statement', async () => {
    const db = await open();
    await expect(db.transaction().execute(async () => 42)).resolves.toBe(42);
    await expect(
      db.transaction().execute(async () => {
        throw new Error('nothing to undo');
      }),
    ).rejects.toThrow('nothing to undo');
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('notes').values({ id: 1, text: 'a' }).execute();
    });
    expect(await ids(db)).toEqual([1]);
  });

  it('keeps the statements of others out of a transaction, and controlled transactions work', async () => {
    const db = await open();
    let outside: Promise<unknown> | undefined;
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('notes').values({ id: 1, text: 'inside' }).execute();
        outside = db.insertInto('notes').values({ id: 2, text: 'outside' }).execute();
        await new Promise((resolve) => setTimeout(resolve, 20));
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    await outside;
    const trx = await db.startTransaction().execute();
    await trx.insertInto('notes').values({ id: 3, text: 'controlled' }).execute();
    await trx.commit().execute();
    expect(await ids(db)).toEqual([2, 3]);
  });

  it('answers a failing BEGIN with its error and runs nothing of that transaction', async () => {
    const db = await open();
    // A transaction left open on the connection makes the next BEGIN fail.
    await sql`begin`.execute(db);
    const results: PromiseSettledResult<unknown>[] = [];
    const error = await db
      .transaction()
      .execute(async (trx) => {
        // Both sent before the first answer comes back: the second must not run outside a transaction.
        results.push(
          ...(await Promise.allSettled([trx.insertInto('notes').values({ id: 1, text: 'a' }).execute(), trx.insertInto('notes').values({ id: 2, text: 'b' }).execute()])),
        );
        if (results.some((r) => r.status === 'rejected')) throw (results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason;
      })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'SqliteError', code: 'SQLITE_ERROR', message: 'cannot start a transaction within a transaction' });
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    await sql`rollback`.execute(db);
    expect(await ids(db)).toEqual([]);
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('notes').values({ id: 3, text: 'c' }).execute();
    });
    expect(await ids(db)).toEqual([3]);
  });
});
