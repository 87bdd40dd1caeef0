/**
 * The service runtime prunes its inbox on a schedule (issue 16 item 7): a redelivery inside the
 * retention is still a no-op, and once a record is older than the retention it is gone (so the
 * inbox does not grow for ever). Real SQLite bus and service database.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify from 'fastify';
import { sql, type Kysely } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { busTablesMigration, createBus, type AnyPublishInput, type Bus } from '../src/bus/index.ts';
import { declareReads } from '../src/contracts/index.ts';
import { sqliteEngine } from '../src/engines/sqlite/index.ts';
import { contractStore, openPlatformDatabase } from '../src/platform/auth/index.ts';
import { createMetrics } from '../src/platform/metrics.ts';
import { createTokens } from '../src/platform/tokens.ts';
import { startServiceRuntime } from '../src/services/runtime.ts';
import type { RunningService } from '../src/services/service.ts';

interface EffectsDatabase {
  effects: { event_id: string; applications: number };
}

// Long enough for a redelivery on a busy machine; the runtime prunes every second at this retention.
const RETENTION_MS = 4_000;
let dir: string;
let bus: Bus;
let service: RunningService;
let db: Kysely<EffectsDatabase>;
let platform: Awaited<ReturnType<typeof openPlatformDatabase>>;
/** What the batch subscription on declared reads was handed: per call, the events' types and `userId`s. */
const batches: { type: string; userId: string }[][] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'flamingo-runtime-'));
  bus = createBus({ engine: sqliteEngine({ file: path.join(dir, 'bus.db') }) });
  platform = await openPlatformDatabase({ dataDir: dir });
  const context = {
    bus,
    database: { dataDir: dir },
    http: Fastify(),
    logger: pino({ level: 'silent' }),
    tokens: createTokens('a-test-token-secret-of-at-least-32-bytes'),
    metrics: createMetrics(),
    contracts: contractStore(platform.db),
    env: {},
    inboxRetentionMs: RETENTION_MS,
  };
  const migrations = {
    '000_bus': busTablesMigration,
    '001_effects': {
      up: async (schema: Kysely<unknown>) => {
        await schema.schema.createTable('effects').addColumn('event_id', 'text', (c) => c.primaryKey()).addColumn('applications', 'integer', (c) => c.notNull()).execute();
      },
    },
  };
  service = await startServiceRuntime<EffectsDatabase, AnyPublishInput>(context, { name: 'effects', migrations }, async (runtime) => {
    db = runtime.db;
    await runtime.react({
      name: 'effects.users',
      reads: declareReads('effects.users', { 'user.registered': [] }),
      concurrency: 1,
      async react(trx, event) {
        await trx
          .insertInto('effects')
          .values({ event_id: event.id, applications: 1 })
          .onConflict((oc) => oc.column('event_id').doUpdateSet({ applications: sql`effects.applications + 1` }))
          .execute();
        return [];
      },
    });
    // A batch subscription takes declared reads like `subscribe`: its types are the declaration's,
    // and its handler sees the declared fields of `data` only.
    await runtime.subscribeBatch(
      { name: 'effects.profiles', reads: declareReads('effects.profiles', { 'user.updated': ['userId'] }), concurrency: 1, maxBatchSize: 10 },
      (events) => {
        // @ts-expect-error `email` is not declared, so the handler cannot read it.
        void events[0]?.data.email;
        batches.push(events.map((event) => ({ type: event.type, userId: event.data.userId })));
      },
    );
  });
});
afterAll(async () => {
  await service?.stop();
  await bus?.close();
  await platform?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

const applications = async () => (await db.selectFrom('effects').select('applications').executeTakeFirst())?.applications;
const inboxRecords = async () => Number((await sql<{ n: number }>`select count(*) as n from flamingo_inbox`.execute(db)).rows[0].n);
/** Rewinds the subscription to the beginning and waits until it has handled the log again. */
async function redeliver(head: number): Promise<void> {
  await bus.rewind('effects.users', 'beginning');
  await until(async () => {
    const info = (await bus.subscriptions()).find((s) => s.name === 'effects.users');
    return info && info.position >= head && info.lag === 0 && info.inFlight === 0 ? true : undefined;
  }, 'the redelivery');
}

it('a redelivery inside the retention is a no-op; the record is pruned once older than the retention', async () => {
  const published = await bus.publish({ type: 'user.registered', data: { userId: 'u-inbox', email: 'ada@example.com', name: 'Ada' } });
  await until(async () => ((await applications()) === 1 ? true : undefined), 'the first delivery');
  expect(await inboxRecords()).toBe(1);

  // Inside the window (the record is younger than the retention): the inbox catches the redelivery.
  await redeliver(published.sequence);
  expect(await applications()).toBe(1);
  expect(await inboxRecords()).toBe(1);

  // The runtime's schedule prunes the record once it is older than the retention.
  await until(async () => ((await inboxRecords()) === 0 ? true : undefined), 'the inbox to be pruned', RETENTION_MS * 4 + 5_000);
  expect(await applications()).toBe(1);

  // Beyond the window the record is gone: that is why the retention must exceed any redelivery window.
  await redeliver(published.sequence);
  expect(await applications()).toBe(2);
});

it('a batch subscription on declared reads is handed the events of the declared types only, their declared fields typed', async () => {
  const profile = (userId: string) => ({ userId, email: `${userId}@example.com`, name: 'Ada', changed: ['name' as const] });
  await bus.publish({ type: 'user.registered', data: { userId: 'u-batch', email: 'u-batch@example.com', name: 'Ada' } });
  await bus.publishAll([
    { type: 'user.updated', data: profile('u-batch-1') },
    { type: 'user.updated', data: profile('u-batch-2') },
    { type: 'user.updated', data: profile('u-batch-3') },
  ]);
  await until(async () => (batches.flat().length >= 3 ? true : undefined), 'the batch subscription');
  await sleep(100);
  expect(batches.flat()).toEqual(['u-batch-1', 'u-batch-2', 'u-batch-3'].map((userId) => ({ type: 'user.updated', userId })));
});
