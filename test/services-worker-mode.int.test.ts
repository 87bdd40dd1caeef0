/**
 * A service in `server` mode (a process serving its routes while another runs its reactions and
 * workers): its reactions are not subscribed, and what its routes write is still published, by its
 * own outbox relay, beside the relay of the process in `shared` mode on the same PostgreSQL schema —
 * each event once, and on its own once no `shared` process is left. Real SQLite bus, real PostgreSQL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify from 'fastify';
import type { Kysely } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { busTablesMigration, createBus, type AnyPublishInput, type Bus } from '../src/bus/index.ts';
import { TEST_DATABASE_URL } from '../src/bus/testing/index.ts';
import { declareReads } from '../src/contracts/index.ts';
import { sqliteEngine } from '../src/engines/sqlite/index.ts';
import { contractStore, openPlatformDatabase } from '../src/platform/auth/index.ts';
import { createMetrics } from '../src/platform/metrics.ts';
import { createTokens } from '../src/platform/tokens.ts';
import { startServiceRuntime, type ServiceRuntime } from '../src/services/runtime.ts';
import type { RunningService, WorkerMode } from '../src/services/service.ts';

const SCHEMA = `worker_mode_${process.pid}`;
let dir: string;
let bus: Bus;
let platform: Awaited<ReturnType<typeof openPlatformDatabase>>;
const stops: RunningService[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'flamingo-worker-mode-'));
  bus = createBus({ engine: sqliteEngine({ file: path.join(dir, 'bus.db') }) });
  platform = await openPlatformDatabase({ dataDir: dir });
});
afterAll(async () => {
  for (const service of stops.splice(0)) await service.stop();
  await bus?.close();
  await platform?.close();
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await client.end();
  rmSync(dir, { recursive: true, force: true });
});

/** One process's instance of the `accounts` service: reacts to `user.registered` by noting the id. */
async function startAccounts(workerMode: WorkerMode, reacted: string[]): Promise<{ runtime: ServiceRuntime<unknown, AnyPublishInput>; service: RunningService }> {
  let started: ServiceRuntime<unknown, AnyPublishInput> | undefined;
  const service = await startServiceRuntime<unknown, AnyPublishInput>(
    {
      bus,
      database: { dataDir: dir, databaseUrl: TEST_DATABASE_URL, poolSize: 2 },
      http: Fastify(),
      logger: pino({ level: 'silent' }),
      tokens: createTokens('a-test-token-secret-of-at-least-32-bytes'),
      metrics: createMetrics(),
      env: {},
      workerMode,
      contracts: contractStore(platform.db),
    },
    { name: 'accounts', databaseName: SCHEMA, migrations: { '000_bus': busTablesMigration } },
    async (runtime) => {
      started = runtime;
      await runtime.react({
        name: 'accounts.users',
        reads: declareReads('accounts.users', { 'user.registered': ['userId'] }),
        concurrency: 4,
        async react(_trx, event) {
          reacted.push(event.id);
          return [];
        },
      });
    },
  );
  stops.push(service);
  return { runtime: started!, service };
}

/** What a route does: a state change and its event in one transaction. */
const register = (runtime: ServiceRuntime<unknown, AnyPublishInput>, n: number) =>
  runtime.write(async (_trx: Kysely<unknown>) => ({ events: [{ id: uuidv7(), type: 'user.registered', data: { userId: `u-${n}`, email: `u${n}@example.com`, name: `User ${n}` } }] }));

async function logIds(): Promise<string[]> {
  return (await bus.read({ limit: 1000 })).filter((e) => e.type === 'user.registered').map((e) => e.id);
}

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

it('reacts only where the workers run; both relays publish what either wrote, each event once; the server one alone too', async () => {
  const reactedHere: string[] = [];
  const reactedThere: string[] = [];
  const worker = await startAccounts('shared', reactedHere);
  const server = await startAccounts('server', reactedThere);
  expect(worker.runtime.workers).toBe(true);
  expect(server.runtime.workers).toBe(false);
  expect((await bus.subscriptions()).find((s) => s.name === 'accounts.users')?.consumers).toBe(1);

  // Writes through both, at once: the two relays of one outbox take turns.
  await Promise.all(Array.from({ length: 40 }, (_, n) => register(n % 2 === 0 ? worker.runtime : server.runtime, n)));
  const ids = await until(async () => {
    const seen = await logIds();
    return seen.length >= 40 ? seen : undefined;
  }, 'the 40 events in the log');
  await sleep(300);
  expect((await logIds()).length).toBe(40);
  expect(new Set(ids).size).toBe(40);
  await until(async () => (reactedHere.length >= 40 ? true : undefined), 'the reactions in the shared process');
  expect(new Set(reactedHere)).toEqual(new Set(ids));
  expect(reactedThere).toEqual([]);

  // No process runs the workers any more: what the server one writes is still published, at once.
  await worker.service.stop();
  stops.splice(stops.indexOf(worker.service), 1);
  const before = Date.now();
  await register(server.runtime, 100);
  await until(async () => ((await logIds()).length === 41 ? true : undefined), 'the event written with no worker process', 5_000);
  expect(Date.now() - before).toBeLessThan(5_000);
  expect(reactedThere).toEqual([]);
});
