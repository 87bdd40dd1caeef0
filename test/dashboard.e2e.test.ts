/**
 * The Grafana dashboard (deploy/grafana/flamingo.json) against a real Prometheus (Debian's
 * `prometheus` package) scraping a running Flamingo under traffic: every panel's every query
 * returns data. Also: a datasource variable, and a unit on every panel.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { failPermanently } from '../src/bus/index.ts';
import { reviewsService } from '../src/services/reviews/index.ts';
import { freePort } from './support/process.ts';
import { startTestServer, type TestServer } from './support/server.ts';

interface Panel {
  title: string;
  datasource: { uid: string };
  fieldConfig: { defaults: { unit?: string } };
  targets: { expr: string }[];
}
const dashboard = JSON.parse(readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../deploy/grafana/flamingo.json'), 'utf8')) as {
  templating: { list: { name: string; type: string }[] };
  panels: Panel[];
};

let server: TestServer;
let prometheus: ChildProcess;
let prometheusUrl: string;
let dir: string;
let traffic: Promise<void>;
let stopped = false;

beforeAll(async () => {
  server = await startTestServer({}, { registry: [reviewsService()] });
  await server.flamingo.bus.subscribe({ name: 'dashboard-check', types: ['order.placed'], retry: { maxAttempts: 1 } }, async (event) => {
    if ((event.data as { orderId: string }).orderId.startsWith('refused')) throw failPermanently('refused on purpose');
  });
  const key = await server.producerKey('orders');
  let n = 0;
  const order = () => {
    n++;
    return { specversion: '1.0', id: uuidv7(), source: '/test', type: 'order.placed', data: { orderId: `${n % 5 === 0 ? 'refused' : 'kept'}-${n}`, userId: 'u-1', items: [{ productId: 'p-1', quantity: 1, unitPriceCents: 100 }], totalCents: 100, currency: 'EUR' } };
  };
  traffic = (async () => {
    while (!stopped) {
      await server.request('POST', '/v1/events', { key, contentType: 'application/cloudevents-batch+json', body: [order(), order()] });
      await sleep(200);
    }
  })();

  dir = mkdtempSync(path.join(os.tmpdir(), 'flamingo-prometheus-'));
  const target = new URL(server.url).host;
  writeFileSync(
    path.join(dir, 'prometheus.yml'),
    `global: { scrape_interval: 1s, evaluation_interval: 1s }\nscrape_configs:\n  - job_name: flamingo\n    static_configs: [{ targets: ['${target}'] }]\n`,
  );
  const port = await freePort();
  prometheusUrl = `http://127.0.0.1:${port}`;
  prometheus = spawn('prometheus', [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
}, 30_000);
afterAll(async () => {
  stopped = true;
  await traffic;
  prometheus?.kill('SIGTERM');
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function query(expr: string): Promise<unknown[] | undefined> {
  try {
    const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr.replaceAll('$__rate_interval', '10s'))}`);
    const body = (await response.json()) as { status: string; error?: string; data?: { result: unknown[] } };
    if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
    return body.data!.result;
  } catch (error) {
    if ((error as Error).message.includes(expr)) throw error;
    return undefined; // Prometheus not up yet
  }
}

it('has a datasource variable and a unit on every panel, each panel reading from it', () => {
  expect(dashboard.templating.list).toContainEqual(expect.objectContaining({ name: 'datasource', type: 'datasource' }));
  expect(dashboard.panels.length).toBeGreaterThanOrEqual(6);
  for (const panel of dashboard.panels) {
    expect(panel.fieldConfig.defaults.unit, panel.title).toEqual(expect.any(String));
    expect(panel.datasource.uid, panel.title).toBe('${datasource}');
  }
});

it("every panel's query returns data from a Prometheus that scraped a running Flamingo", async () => {
  const queries = dashboard.panels.flatMap((panel) => panel.targets.map((target) => ({ title: panel.title, expr: target.expr })));
  const empty = new Set(queries.map((q) => q.expr));
  const deadline = Date.now() + 40_000;
  while (empty.size > 0 && Date.now() < deadline) {
    for (const expr of [...empty]) if ((await query(expr))?.length) empty.delete(expr);
    if (empty.size > 0) await sleep(1000);
  }
  expect([...empty].map((expr) => queries.find((q) => q.expr === expr)!.title)).toEqual([]);
}, 60_000);
