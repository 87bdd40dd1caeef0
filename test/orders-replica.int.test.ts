/**
 * Event-carried state (issue 14, seed 003): the orders service's replica of customers is rebuilt
 * from the log's `user.*` events alone — no call to the users service, no other type — and comes
 * out the same on every rebuild.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, openTestDatabase } from './support/service-databases.ts';
import { createBus, type Bus } from '../src/bus/index.ts';
import { sqliteEngine } from '../src/engines/sqlite/index.ts';
import type { Dialect } from '../src/platform/db.ts';
import { onReplicaEvent, replicaReads, type ReplicaEvent } from '../src/services/orders/handlers.ts';
import { ordersMigrations } from '../src/services/orders/index.ts';
import type { OrdersDatabase } from '../src/services/orders/store.ts';

describe.each(DIALECTS)("orders' customer replica from user.* events on %s", (dialect: Dialect) => {
  let dir: string;
  let bus: Bus;
  const [ada, bob, cy] = [uuidv7(), uuidv7(), uuidv7()];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'flamingo-replica-'));
    bus = createBus({ engine: sqliteEngine({ file: path.join(dir, 'bus.db') }) });
    const user = (userId: string, name: string) => ({ userId, email: `${name.split(' ')[0].toLowerCase()}@example.test`, name });
    // The log as the users service (and others) left it: user events among other types.
    await bus.publish({ type: 'user.registered', data: user(ada, 'Ada') });
    await bus.publish({ type: 'user.registered', data: user(bob, 'Bob') });
    await bus.publish({ type: 'stock.adjusted', data: { productId: uuidv7(), delta: 5, onHand: 5, reason: 'restock' } });
    await bus.publish({ type: 'user.updated', data: { ...user(ada, 'Ada Lovelace'), changed: ['name'] } });
    await bus.publish({ type: 'user.registered', data: user(cy, 'Cy') });
    await bus.publish({ type: 'user.banned', data: { userId: bob, reason: 'spam', bannedBy: 'admin' } });
    await bus.publish({ type: 'user.banned', data: { userId: cy, reason: 'spam', bannedBy: 'admin' } });
    await bus.publish({ type: 'user.unbanned', data: { userId: cy } });
  });
  afterAll(async () => {
    await bus?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A new orders database with its replica built from `user.*` events only, in log order. */
  const rebuild = async () => {
    const test = await openTestDatabase<OrdersDatabase>(dialect, 'orders', ordersMigrations);
    const events = await bus.read({ types: ['user.*'], limit: 1000 });
    expect(events.every((e) => e.type.startsWith('user.') && replicaReads.types.includes(e.type as never))).toBe(true);
    for (const event of events) await test.database.db.transaction().execute((trx) => onReplicaEvent({ logger: pino({ level: 'silent' }) }, trx, event as ReplicaEvent));
    const rows = await test.database.db.selectFrom('customers').select(['id', 'banned']).orderBy('id').execute();
    await test.cleanup();
    return rows.map((r) => ({ id: r.id, banned: Number(r.banned) === 1 }));
  };

  it('knows every customer and their ban from the events alone, the same on every rebuild', async () => {
    const first = await rebuild();
    expect(first).toEqual(
      [
        { id: ada, banned: false },
        { id: bob, banned: true },
        { id: cy, banned: false },
      ].sort((a, b) => a.id.localeCompare(b.id)),
    );
    expect(await rebuild()).toEqual(first);
  });
});
