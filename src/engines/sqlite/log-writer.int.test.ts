import fs from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { buildEvent } from '../../bus/testing/index.ts';
import { LogWorkerError, LogWriter, type StatePersister } from './log-writer.ts';
import { openLogDatabase } from './schema.ts';
import { StateStore, type StateWrite } from './state-store.ts';
import { sqliteEngine } from './sqlite-engine.ts';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function tempFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flamingo-log-writer-'));
  cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'bus.db');
}

/** A laid-out log, its main-thread connection and a writer on it. */
function open(): { db: Database.Database; writer: LogWriter; heads: number[] } {
  const file = tempFile();
  const db = openLogDatabase(file);
  const heads: number[] = [];
  const writer = new LogWriter({ file, stateFlushMs: 10, autocheckpointPages: 4000, onAppended: (head) => heads.push(head) });
  cleanup.push(() => db.close());
  cleanup.push(() => writer.close());
  return { db, writer, heads };
}

const cartEvent = (item: number) => buildEvent({ type: 'cart.item_added', data: { cartId: '0190a000-0000-7000-8000-00000000000a', items: [item], item } });

describe('the log writer in a worker thread', () => {
  it('answers an HTTP request while a large append commits', async () => {
    const { writer } = open();
    const happened: string[] = [];
    const server: Server = createServer((_request, response) => {
      happened.push('request answered');
      response.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => server.close(resolve)));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

    const appended = writer.append(Array.from({ length: 60_000 }, (_, i) => cartEvent(i))).then((results) => {
      happened.push('append committed');
      return results;
    });
    expect(await fetch(url).then((response) => response.text())).toBe('ok');
    expect((await appended).length).toBe(60_000);
    expect(happened).toEqual(['request answered', 'append committed']);
    expect(writer.head).toBe(60_000);
  });

  it('lets a reader on the main thread see no event before its append is answered', async () => {
    const file = tempFile();
    const engine = sqliteEngine({ file });
    cleanup.push(() => engine.close());
    let answered = false;
    const appended = engine.append(Array.from({ length: 30_000 }, (_, i) => cartEvent(i))).then(() => (answered = true));
    const seenEarly: number[] = [];
    // Reads while the worker inserts and commits: the rows are in the file before the answer comes.
    while (!answered) {
      const events = await engine.read({ limit: 10 });
      if (!answered) seenEarly.push(events.length);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await appended;
    expect(seenEarly.length).toBeGreaterThan(0);
    expect(seenEarly.every((count) => count === 0)).toBe(true);
    expect(await engine.read({ limit: 10 })).toHaveLength(10);
  });

  it('fails start-up with a clear error when the worker cannot open the log', () => {
    const file = path.join(tempFile(), 'missing-directory', 'bus.db');
    expect(() => new LogWriter({ file, stateFlushMs: 10, autocheckpointPages: 4000, onAppended: () => undefined })).toThrow(LogWorkerError);
    expect(() => new LogWriter({ file, stateFlushMs: 10, autocheckpointPages: 4000, onAppended: () => undefined })).toThrow(/did not start: .*directory/);
  });

  it('rejects a write that fails and commits its neighbours in the same transaction', async () => {
    const { db, writer, heads } = open();
    const store = new StateStore(db);
    await writer.write([{ subscription: 'a', create: { types: ['cart.*'], position: 0 } }]);
    const [again, appended, other] = await Promise.allSettled([
      writer.write([{ subscription: 'a', create: { types: ['cart.*'], position: 5 } }]),
      writer.append([cartEvent(1)]),
      writer.write([{ subscription: 'b', create: { types: ['order.*'], position: 0 } }]),
    ]);
    expect(again).toMatchObject({ status: 'rejected', reason: { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' } });
    expect(appended).toMatchObject({ status: 'fulfilled', value: [{ sequence: 1, duplicate: false }] });
    expect(other.status).toBe('fulfilled');
    expect(store.all().map((row) => [row.name, row.position])).toEqual([
      ['a', 0],
      ['b', 0],
    ]);
    expect(heads).toEqual([1]);
  });

  it('gives state whose write failed back to its persister and writes what it holds next', async () => {
    const { db, writer } = open();
    const store = new StateStore(db);
    await writer.write([{ subscription: 's', create: { types: ['cart.*'], position: 0 } }]);
    const [stored] = await writer.append([cartEvent(1)]);
    // A dead letter without an event id breaks a NOT NULL constraint: that write fails as a whole.
    const failing: StateWrite = {
      subscription: 's',
      position: { position: 1, done: [] },
      putDeadLetters: [{ sequence: stored.sequence, eventId: null as unknown as string, error: 'x', attempts: 1, firstFailedMs: 1, lastFailedMs: 1 }],
    };
    const given: StateWrite[] = [];
    let pending: StateWrite | undefined = failing;
    const persister: StatePersister = {
      takeState: () => {
        const taken = pending;
        pending = undefined;
        return taken;
      },
      restoreState: (taken) => {
        given.push(taken);
        pending = { subscription: 's', position: { position: 1, done: [] } };
      },
    };
    writer.markDirty(persister);
    await writer.flush();
    expect(given).toEqual([failing]);
    expect(store.get('s')?.position).toBe(0);
    await writer.flush();
    expect(store.get('s')?.position).toBe(1);
    expect(store.deadLetters('s', 0, 10)).toEqual([]);
  });
});
