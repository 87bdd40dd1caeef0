/**
 * Exactly one row per event, whatever happens (issue 11): producers post events while the server
 * is killed with SIGKILL mid-landing, and once mid-rebuild; after a restart the warehouse holds
 * exactly the log's event ids, each once — and again after a rebuild that runs to its end.
 * On both backends: DuckDB in the data dir and PostgreSQL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, startServerProcess, type ServerProcess } from './support/process.ts';
import { TEST_DATABASE_URL, uniqueName } from './support/service-databases.ts';

const ADMIN_KEY = 'warehouse-crash-admin-key-0123456789';
const KILLS = 3;
const BATCH = 100;

const backends = [
  { name: 'duckdb', env: (): Record<string, string> => ({}) },
  { name: 'postgres', env: (schema: string): Record<string, string> => ({ FLAMINGO_WAREHOUSE_URL: TEST_DATABASE_URL, FLAMINGO_WAREHOUSE_SCHEMA: schema }) },
];

describe.each(backends)('warehouse on $name across SIGKILLs', (backend) => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'flamingo-warehouse-crash-'));
  const schema = uniqueName('whcrash');
  let current: ServerProcess | undefined;
  afterAll(async () => {
    current?.child.kill('SIGKILL');
    await current?.exited;
    rmSync(dataDir, { recursive: true, force: true });
    if (backend.name === 'postgres') {
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.query(`DROP OWNED BY "${schema}_reader"`).catch(() => undefined);
      await client.query(`DROP ROLE IF EXISTS "${schema}_reader"`);
      await client.end();
    }
  });

  it('keeps exactly one row per event id through kills mid-landing and mid-rebuild, and after a rebuild', { timeout: 120_000 }, async () => {
    const port = await freePort();
    const env = {
      FLAMINGO_DATA_DIR: dataDir,
      FLAMINGO_ADMIN_KEY: ADMIN_KEY,
      FLAMINGO_SERVICES: 'warehouse',
      // Small transactions: a kill lands in the middle of one more often.
      FLAMINGO_WAREHOUSE_BATCH_SIZE: '50',
      LOG_LEVEL: 'warn',
      ...backend.env(schema),
    };
    const url = `http://127.0.0.1:${port}`;
    const call = async (method: string, route: string, body?: unknown) => {
      const response = await fetch(`${url}${route}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> & { rows: Record<string, unknown>[] } };
    };
    const sql = async (query: string) => {
      const answer = await call('POST', '/v1/warehouse/query', { sql: query });
      if (answer.status !== 200) throw new Error(`query answered ${answer.status}: ${JSON.stringify(answer.body)}`);
      return answer.body.rows;
    };

    let stop = false;
    let posted = 0;
    const producer = async () => {
      while (!stop) {
        // cart.item_added is a type anyone may publish: the admin key may send it.
        const events = Array.from({ length: BATCH }, (_, i) => ({ specversion: '1.0', id: uuidv7(), source: '/crash', type: 'cart.item_added', data: { items: [i], item: i } }));
        try {
          const response = await fetch(`${url}/v1/events`, {
            method: 'POST',
            headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/cloudevents-batch+json' },
            body: JSON.stringify(events),
          });
          if (response.status === 202) posted += BATCH;
          else await sleep(20);
        } catch {
          await sleep(20);
        }
      }
    };

    current = await startServerProcess(env, port);
    const producers = [producer(), producer()];
    for (let kill = 0; kill < KILLS; kill += 1) {
      await sleep(400 + Math.random() * 800);
      current.child.kill('SIGKILL');
      expect(await current.exited).toBe('SIGKILL');
      current = await startServerProcess(env, port);
    }
    // A rebuild killed half-way: the old table stays whole, the copy is dropped at the next start.
    await sleep(300);
    const rebuild = await fetch(`${url}/v1/warehouse/rebuild`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(rebuild.status).toBe(200);
    const reader = rebuild.body!.getReader();
    await reader.read();
    current.child.kill('SIGKILL');
    expect(await current.exited).toBe('SIGKILL');
    await reader.cancel().catch(() => undefined);
    current = await startServerProcess(env, port);
    await sleep(300);
    stop = true;
    await Promise.all(producers);

    const log: string[] = [];
    for (let after = 0; ; ) {
      const page = await call('GET', `/v1/events?limit=1000&afterSequence=${after}`);
      log.push(...(page.body.events as { id: string }[]).map((e) => e.id));
      if (page.body.next === null) break;
      after = page.body.next as number;
    }
    expect(posted).toBeGreaterThan(0);
    expect(log.length).toBeGreaterThanOrEqual(posted);

    const caughtUp = async () => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const { body } = await call('GET', '/v1/subscriptions');
        const info = (body.subscriptions as { name: string; lag: number; details?: { lastLandedSequence: number } }[]).find((s) => s.name === 'warehouse');
        if (info && info.lag === 0 && (info.details?.lastLandedSequence ?? 0) >= log.length) return;
        if (Date.now() > deadline) throw new Error(`the warehouse did not catch up: ${JSON.stringify(info)}`);
        await sleep(100);
      }
    };
    const exactlyTheLog = async () => {
      expect(await sql('SELECT count(*) AS n, count(DISTINCT id) AS d FROM events')).toEqual([{ n: log.length, d: log.length }]);
      const landed: string[] = [];
      for (let after = 0; ; ) {
        const page = await sql(`SELECT id, sequence FROM events WHERE sequence > ${after} ORDER BY sequence LIMIT 5000`);
        if (page.length === 0) break;
        landed.push(...page.map((r) => r.id as string));
        after = page[page.length - 1]!.sequence as number;
      }
      expect(landed).toEqual(log);
    };
    await caughtUp();
    await exactlyTheLog();

    const rebuilt = await fetch(`${url}/v1/warehouse/rebuild`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    const lines = (await rebuilt.text()).trim().split('\n').map((l) => JSON.parse(l) as { finished?: boolean; done?: number });
    expect(lines.at(-1)).toMatchObject({ finished: true, done: log.length });
    await exactlyTheLog();
    console.log(`warehouse crash test (${backend.name}): ${log.length} events, ${KILLS} kills mid-landing, 1 mid-rebuild`);

    current.child.kill('SIGTERM');
    expect(await current.exited).toBe(0);
    current = undefined;
  });
});
