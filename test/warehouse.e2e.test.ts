/**
 * The warehouse as it runs in Flamingo, on both backends: landing every event of the log once,
 * its figures in `GET /v1/subscriptions` and the metrics, who may query it, rebuild and Parquet
 * export (read back by hyparquet, an independent reader), and settings that stop start-up.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.ts';
import { TEST_DATABASE_URL, uniqueName } from './support/service-databases.ts';
import { waitUntil } from './support/service-server.ts';
import { startFlamingo } from '../src/app/flamingo.ts';
import { runWarehouseExport } from '../src/app/cli/warehouse.ts';
import { ConfigError, loadConfig } from '../src/platform/config.ts';
import { warehouseService } from '../src/services/warehouse/index.ts';

const backends = [
  { name: 'duckdb', env: (): Record<string, string> => ({}) },
  { name: 'postgres', env: (schema: string): Record<string, string> => ({ FLAMINGO_WAREHOUSE_URL: TEST_DATABASE_URL, FLAMINGO_WAREHOUSE_SCHEMA: schema }) },
];

describe.each(backends)('warehouse service on $name', (backend) => {
  let server: TestServer;
  let analystKey: string;
  const schema = uniqueName('wh');
  const orderId = uuidv7();
  const query = (sql: string, key?: string | null) => server.request('POST', '/v1/warehouse/query', { body: { sql }, key });
  const rowsOf = async (sql: string) => {
    const answer = await query(sql);
    if (answer.status !== 200) throw new Error(`query answered ${answer.status}: ${answer.text}`);
    return answer.body.rows as Record<string, unknown>[];
  };
  const landed = () =>
    waitUntil(async () => {
      const head = await server.flamingo.bus.engine.head();
      const { body } = await server.request('GET', '/v1/subscriptions');
      const info = body.subscriptions.find((s: { name: string }) => s.name === 'warehouse');
      return info?.details?.lastLandedSequence >= head && info.lag === 0 ? info : undefined;
    }, 20_000, 'the warehouse to land the log');

  beforeAll(async () => {
    server = await startTestServer(backend.env(schema), { registry: [warehouseService()] });
    const created = await server.request('POST', '/v1/keys', { body: { role: 'analyst', name: 'data team' } });
    expect(created.status).toBe(201);
    analystKey = created.body.key;
    const { bus } = server.flamingo;
    const userId = uuidv7();
    await bus.publish({ type: 'user.registered', data: { userId, email: 'ada@example.com', name: 'Ada Lovelace' } });
    const placed = { orderId, userId, items: [{ productId: uuidv7(), quantity: 1, unitPriceCents: 1500 }], totalCents: 1500, currency: 'EUR', paymentToken: 'tok_ok', email: 'ada@example.com' };
    const id = uuidv7();
    await bus.publish({ id, type: 'order.placed', data: placed });
    // The same event published twice is stored, and landed, once.
    await bus.publish({ id, type: 'order.placed', data: placed });
    await bus.publish({ type: 'payment.succeeded', data: { paymentId: uuidv7(), orderId, userId, amountCents: 1500, currency: 'EUR' } });
    for (let i = 0; i < 50; i += 1) await bus.publish({ type: 'cart.item_added', data: { items: [i], item: i } });
  });
  afterAll(async () => {
    await server.stop();
    if (backend.name === 'postgres') {
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.query(`DROP OWNED BY "${schema}_reader"`).catch(() => undefined);
      await client.query(`DROP ROLE IF EXISTS "${schema}_reader"`);
      await client.end();
    }
  });

  it("lands exactly the log's events, each once, and reports rows and last sequence", async () => {
    const info = await landed();
    const log = (await server.flamingo.bus.read({ limit: 1000 })).map((e) => e.id);
    expect(log).toHaveLength(53);
    expect((await rowsOf('SELECT id FROM events ORDER BY sequence')).map((r) => r.id)).toEqual(log);
    expect(info.details).toEqual({ rowsLanded: 53, lastLandedSequence: await server.flamingo.bus.engine.head() });
    const metrics = await server.request('GET', '/metrics', { key: null });
    expect(metrics.text).toMatch(/^flamingo_warehouse_rows 53$/m);
    expect(metrics.text).toMatch(/^flamingo_warehouse_landing_lag_seconds_count \d+$/m);
    expect(await rowsOf(`SELECT status, total_cents, paid_at IS NOT NULL AS paid FROM orders WHERE order_id = '${orderId}'`)).toEqual([{ status: 'pending', total_cents: 1500, paid: true }]);
    const stored = JSON.stringify(await rowsOf('SELECT data FROM events'));
    expect(stored).not.toContain('tok_ok');
    expect(stored).not.toContain('ada@example.com');
  });

  it('answers analysts and the admin only; bad queries are 400 naming /sql', async () => {
    await landed();
    expect((await query('SELECT count(*) AS n FROM events', analystKey)).body.rows).toEqual([{ n: 53 }]);
    expect((await query('SELECT count(*) AS n FROM events')).status).toBe(200);
    expect((await query('SELECT 1', null)).status).toBe(401);
    expect((await query('SELECT 1', await server.producerKey('orders'))).status).toBe(403);
    // An analyst key reads the warehouse and nothing else.
    expect((await server.request('GET', '/v1/subscriptions', { key: analystKey })).status).toBe(403);
    expect((await server.request('GET', '/v1/events', { key: analystKey })).status).toBe(403);
    expect((await server.request('POST', '/v1/warehouse/rebuild', { key: analystKey })).status).toBe(403);
    const publish = await server.request('POST', '/v1/events', {
      key: analystKey,
      contentType: 'application/cloudevents+json',
      body: { specversion: '1.0', id: 'analyst-1', source: '/test', type: 'cart.item_added', data: { items: [1], item: 1 } },
    });
    expect(publish.status).toBe(403);
    for (const body of [{ sql: '' }, {}, { sql: 'x'.repeat(100_001) }]) {
      const refused = await server.request('POST', '/v1/warehouse/query', { body, key: analystKey });
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(refused.body.detail)).toMatch(/\/body(\/sql)?"/);
    }
    const write = await query('DELETE FROM events', analystKey);
    expect(write.status).toBe(400);
    expect(write.body).toMatchObject({ error: expect.stringMatching(/^(read_only|invalid_query)$/), detail: [{ path: '/body/sql' }] });
    expect((await query('SELECT count(*) AS n FROM events')).body.rows).toEqual([{ n: 53 }]);
  });

  it('rebuilds from the log with progress, leaving one row per event', async () => {
    await landed();
    const response = await server.request('POST', '/v1/warehouse/rebuild');
    expect(response.status).toBe(200);
    const lines = response.text.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.at(-1)).toMatchObject({ finished: true, done: 53, total: 53 });
    expect(await rowsOf('SELECT count(*) AS n, count(DISTINCT id) AS d FROM events')).toEqual([{ n: 53, d: 53 }]);
    expect((await landed()).details.rowsLanded).toBe(53);
  });

  it('exports Parquet, Hive-partitioned by type and date, that another reader reads back', async () => {
    await landed();
    const out = mkdtempSync(path.join(os.tmpdir(), 'flamingo-export-test-'));
    try {
      await runWarehouseExport({ url: server.url, key: analystKey, out });
      const files: string[] = [];
      const walk = (dir: string) => {
        for (const name of readdirSync(dir)) (statSync(path.join(dir, name)).isDirectory() ? walk : (f: string) => files.push(f))(path.join(dir, name));
      };
      walk(out);
      const today = new Date().toISOString().slice(0, 10);
      expect(files.map((f) => path.relative(out, path.dirname(f))).sort()).toEqual(
        [`events/type=cart.item_added/date=${today}`, `events/type=order.placed/date=${today}`, `events/type=payment.succeeded/date=${today}`, `events/type=user.registered/date=${today}`].sort(),
      );
      let ids: string[] = [];
      for (const file of files) {
        const rows = (await parquetReadObjects({ file: await asyncBufferFromFile(file) })) as { id: string; sequence: bigint; data: string }[];
        ids = ids.concat(rows.map((r) => r.id));
        for (const row of rows) expect(typeof JSON.parse(row.data)).toBe('object');
      }
      const log = (await server.flamingo.bus.read({ limit: 1000 })).map((e) => e.id);
      expect(ids.sort()).toEqual([...log].sort());
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('warehouse settings', () => {
  it.each([
    [{ FLAMINGO_WAREHOUSE_PERSONAL_DATA: 'maybe' }, /FLAMINGO_WAREHOUSE_PERSONAL_DATA: must be one of pseudonymise, remove, keep/],
    [{ FLAMINGO_WAREHOUSE_URL: 'mysql://db/x' }, /FLAMINGO_WAREHOUSE_URL: must be a postgres/],
    [{ FLAMINGO_WAREHOUSE_QUERY_TIMEOUT_MS: '10' }, /FLAMINGO_WAREHOUSE_QUERY_TIMEOUT_MS: must be a whole number.* from 100 to 600000/],
    [{ FLAMINGO_WAREHOUSE_PSEUDONYM_KEY: 'short' }, /FLAMINGO_WAREHOUSE_PSEUDONYM_KEY: must be at least 32 characters/],
  ])('a bad setting stops start-up naming it: %o', async (env, message) => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'flamingo-wh-config-'));
    try {
      const config = loadConfig({ FLAMINGO_DATA_DIR: dataDir, HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...env }, dataDir);
      const started = startFlamingo({ ...config, port: 0 }, { registry: [warehouseService()] });
      await expect(started).rejects.toBeInstanceOf(ConfigError);
      await expect(started).rejects.toThrow(message);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
