/**
 * The audit projection handles what waits in one transaction (`handleOnceBatch`); when that batch
 * fails, each event gets its own outcome, so the event that cannot be applied is retried (not
 * acknowledged with the others) and lands once it can. Real SQLite bus and service database.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import Fastify from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createBus, type Bus } from '../src/bus/index.ts';
import { sqliteEngine } from '../src/engines/sqlite/index.ts';
import { contractStore, openPlatformDatabase } from '../src/platform/auth/index.ts';
import { createMetrics } from '../src/platform/metrics.ts';
import { createTokens } from '../src/platform/tokens.ts';
import type { RunningService, ServiceContext } from '../src/services/service.ts';
import { auditService } from '../src/services/audit/index.ts';

let dir: string;
let bus: Bus;
let platform: Awaited<ReturnType<typeof openPlatformDatabase>>;
let context: ServiceContext;
let running: RunningService | undefined;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'flamingo-audit-'));
  bus = createBus({ engine: sqliteEngine({ file: path.join(dir, 'bus.db') }) });
  platform = await openPlatformDatabase({ dataDir: dir });
  context = {
    bus,
    database: { dataDir: dir },
    http: Fastify(),
    logger: pino({ level: 'silent' }),
    tokens: createTokens('a-test-token-secret-of-at-least-32-bytes'),
    metrics: createMetrics(),
    contracts: contractStore(platform.db),
    env: {},
  };
});
afterAll(async () => {
  await running?.stop();
  await bus?.close();
  await platform?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `use` with a connection of the test's own to the audit database. */
function onAuditDatabase<T>(use: (db: Database.Database) => T): T {
  const db = new Database(path.join(dir, 'audit.db'));
  try {
    db.pragma('busy_timeout = 5000');
    return use(db);
  } finally {
    db.close();
  }
}

const applied = () => onAuditDatabase((db) => db.prepare('select event_id, applications from audit_events order by sequence').all() as { event_id: string; applications: number }[]);

async function until(probe: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

const registered = (userId: string) => ({ type: 'user.registered' as const, data: { userId, email: `${userId}@example.com`, name: 'Ada' } });

it('retries the one event of a batch that cannot be applied; the others are applied once', async () => {
  running = await auditService().start(context);
  const first = await bus.publish(registered('u-first'));
  await until(() => applied().some((row) => row.event_id === first.id), 'the first event');
  await running.stop();
  running = undefined;

  // While the projection is stopped: banned users cannot be applied, and three events wait.
  onAuditDatabase((db) => db.exec(`CREATE TRIGGER refuse_banned BEFORE INSERT ON audit_events WHEN NEW.type = 'user.banned' BEGIN SELECT RAISE(ABORT, 'refused'); END`));
  const [before, banned, after] = await bus.publishAll([
    registered('u-before'),
    { type: 'user.banned', data: { userId: 'u-banned', reason: 'spam', bannedBy: 'admin@example.com' } },
    registered('u-after'),
  ]);
  running = await auditService().start(context);
  await until(() => applied().length === 3, 'the events around the refused one');
  expect(applied().map((row) => row.event_id)).toEqual([first.id, before.id, after.id]);

  // Once it can be applied, the refused event lands: it was retried, not acknowledged with its batch.
  onAuditDatabase((db) => db.exec('DROP TRIGGER refuse_banned'));
  await until(() => applied().length === 4, 'the refused event, retried');
  expect(applied()).toEqual([first.id, before.id, banned.id, after.id].map((event_id) => ({ event_id, applications: 1 })));
});
