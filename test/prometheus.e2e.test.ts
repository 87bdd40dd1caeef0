/**
 * Prometheus' own checks on what Flamingo ships: `promtool check rules` on the alert rules,
 * `promtool test rules` proving each alert fires (deploy/prometheus/alerts.test.yml), and
 * `promtool check metrics` on a running server's `/metrics` after real traffic. promtool comes
 * with Debian's `prometheus` package (`.ci/run` installs it).
 */
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { failPermanently } from '../src/bus/index.ts';
import { notificationsService } from '../src/services/notifications/index.ts';
import { reviewsService } from '../src/services/reviews/index.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const RULES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../deploy/prometheus');
const run = promisify(execFile);

/** promtool with `input` on stdin; resolves to its exit code and output (it exits non-zero on a problem). */
function promtool(args: string[], input?: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', args, { cwd: RULES });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(input ?? '');
  });
}

let server: TestServer;
/** Holds the `held` subscription's handler until the end, so it lags behind. */
let release: () => void = () => {};
const held = new Promise<void>((resolve) => (release = resolve));
beforeAll(async () => {
  server = await startTestServer({}, { registry: [reviewsService(), notificationsService()] });
  const key = await server.producerKey('orders');
  let handled = 0;
  await server.flamingo.bus.subscribe({ name: 'metrics-check', types: ['order.placed'], retry: { maxAttempts: 2, initialDelayMs: 10 } }, async (event) => {
    handled++;
    if ((event.data as { orderId: string }).orderId === 'refused') throw failPermanently('refused on purpose');
  });
  await server.flamingo.bus.subscribe({ name: 'held', types: ['order.placed'] }, () => held);
  // A delayed subscription whose two events wait for their hour: scheduled, not lag.
  await server.flamingo.bus.subscribe({ name: 'later', types: ['order.placed'], delayMs: 3_600_000 }, () => undefined);
  const order = (orderId: string) => ({ specversion: '1.0', id: uuidv7(), source: '/test', type: 'order.placed', data: { orderId, userId: 'u-1', items: [{ productId: 'p-1', quantity: 1, unitPriceCents: 100 }], totalCents: 100, currency: 'EUR' } });
  const answer = await server.request('POST', '/v1/events', { key, contentType: 'application/cloudevents-batch+json', body: [order('kept'), order('refused')] });
  expect(answer.status, answer.text).toBe(202);
  expect((await server.request('POST', '/v1/events', { key: null, contentType: 'application/cloudevents+json', body: order('no-key') })).status).toBe(401);
  const deadline = Date.now() + 10_000;
  while (handled < 2 && Date.now() < deadline) await sleep(20);
});
afterAll(async () => {
  release();
  await server?.stop();
});

it('promtool is installed', async () => {
  const { stdout } = await run('promtool', ['--version']);
  expect(stdout).toMatch(/promtool, version 2\./);
});

it('promtool check rules: the alert rules are valid', async () => {
  const { code, output } = await promtool(['check', 'rules', 'alerts.yml']);
  expect(code, output).toBe(0);
  expect(output).toMatch(/SUCCESS: [1-9]\d* rules found/);
});

it('promtool test rules: every alert fires on the series meant to fire it', async () => {
  const { code, output } = await promtool(['test', 'rules', 'alerts.test.yml']);
  expect(code, output).toBe(0);
});

it('promtool check metrics: /metrics of a running server after traffic passes the linter', async () => {
  const { status, text } = await server.request('GET', '/metrics', { key: null });
  expect(status).toBe(200);
  expect(text).toMatch(/flamingo_collector_requests_total\{route="\/v1\/events",status="202"\} 1/);
  expect(text).toMatch(/flamingo_collector_requests_total\{route="\/v1\/events",status="401"\} 1/);
  expect(text).toMatch(/flamingo_events_handled_total\{subscription="metrics-check",outcome="ack"\} 1/);
  expect(text).toMatch(/flamingo_events_handled_total\{subscription="metrics-check",outcome="error"\} 1/);
  expect(text).toMatch(/flamingo_event_end_to_end_seconds_count\{subscription="metrics-check"\} 1/);
  // Lag in seconds: the age of the oldest event not yet handled (held since before the requests above).
  expect(text).toMatch(/flamingo_subscription_lag_seconds\{subscription="metrics-check"\} 0\n/);
  const heldFor = Number(/flamingo_subscription_lag_seconds\{subscription="held"\} ([\d.e-]+)/.exec(text)?.[1]);
  expect(heldFor).toBeGreaterThan(0);
  expect(heldFor).toBeLessThan(60);
  expect(text).toMatch(/flamingo_subscription_scheduled\{subscription="later"\} 2\n/);
  expect(text).toMatch(/flamingo_subscription_lag\{subscription="later"\} 0\n/);
  expect(text).toMatch(/flamingo_subscription_scheduled\{subscription="held"\} 0\n/);
  expect(text).toMatch(/flamingo_outbox_backlog\{service="reviews"\} 0/);
  expect(text).toMatch(/^flamingo_mail_backlog 0$/m);
  const { code, output } = await promtool(['check', 'metrics'], text);
  expect(code, output).toBe(0);
});
