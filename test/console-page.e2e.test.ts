/**
 * The admin console (`/console`) in a real browser (playwright-core driving Debian's chromium),
 * against a running Flamingo with a subscription whose handler refuses some orders: the admin signs
 * in with the admin key, finds the dead letter the failing handler made, retries it from the page
 * and sees it processed; rewinds the subscription from the page and the handler sees the events
 * again. `FLAMINGO_SCREENSHOT=<file>` saves a picture of the dead letters view (the README's).
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { setTimeout as sleep } from 'node:timers/promises';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Subscription } from '../src/bus/index.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
let server: TestServer;
let browser: Browser;
let page: Page;
let flaky: Subscription;
let ordersKey: string;
/** How often the handler saw each order. */
const seen = new Map<string, number>();
/** Orders starting `bad-` are refused while this holds. */
let refuse = true;

const orderData = (orderId: string) => ({ orderId, userId: 'u-1', items: [{ productId: 'p-1', quantity: 1, unitPriceCents: 100 }], totalCents: 100, currency: 'EUR' });
const publish = async (orderIds: string[]) => {
  const response = await server.request('POST', '/v1/events', {
    key: ordersKey,
    contentType: 'application/cloudevents-batch+json',
    body: orderIds.map((orderId) => ({ specversion: '1.0', id: uuidv7(), source: '/test', type: 'order.placed', data: orderData(orderId) })),
  });
  expect(response.status, response.text).toBe(202);
  return response.body.events as { id: string; sequence: number }[];
};
const flakyInfo = async () => {
  const { body } = await server.request('GET', '/v1/subscriptions');
  return (body.subscriptions as { name: string; lag: number; deadLetters: number }[]).find((s) => s.name === 'flaky')!;
};
async function until(ok: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

let published: { id: string; sequence: number }[];
/** Script errors and policy violations in the page: none expected. */
const pageErrors: string[] = [];
beforeAll(async () => {
  server = await startTestServer({}, { overviewIntervalMs: 200 });
  ordersKey = await server.producerKey('orders');
  flaky = await server.flamingo.bus.subscribe({ name: 'flaky', types: ['order.*'], retry: { maxAttempts: 2, initialDelayMs: 10 } }, async (event) => {
    const { orderId } = event.data as { orderId: string };
    seen.set(orderId, (seen.get(orderId) ?? 0) + 1);
    if (refuse && orderId.startsWith('bad-')) throw new Error(`order ${orderId} is refused by the warehouse`);
  });
  published = await publish(['good-1', 'bad-1', 'good-2']);
  await until(async () => (await flakyInfo()).lag === 0 && (await flakyInfo()).deadLetters === 1, 'the dead letter');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  page.setDefaultTimeout(10_000);
  page.on('dialog', (dialog) => void dialog.accept());
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.text().includes('Content Security Policy')) pageErrors.push(message.text());
  });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await flaky?.close();
  await server?.stop();
});

it('refuses a key that is not the admin key, then signs in with the admin key and shows health and the charts', { timeout: 30_000 }, async () => {
  const answer = await page.goto(`${server.url}/console`);
  expect(new URL(page.url()).pathname).toBe('/web/console/');
  // The page runs only its own scripts (its key is in reach of any script it runs).
  expect(answer?.headers()['content-security-policy']).toContain("script-src 'self'");
  expect(answer?.headers()['x-frame-options']).toBe('DENY');
  await page.getByLabel('Admin key').fill(ordersKey);
  await page.keyboard.press('Enter');
  await expect.poll(() => page.locator('#status').textContent()).toContain('not the admin key');
  expect(await page.locator('#nav').isVisible()).toBe(false);

  await page.getByLabel('Admin key').fill(server.adminKey);
  await page.keyboard.press('Enter');
  await page.locator('#nav').waitFor();
  await expect.poll(() => page.locator('#health-engine').textContent()).toBe('sqlite: ready');
  // Samples every 200 ms here: the three orders show as ingest, the subscription as a lag line.
  await expect.poll(async () => {
    await page.getByRole('button', { name: 'Refresh' }).click();
    return page.locator('#ingest-chart polyline').count();
  }).toBe(1);
  expect(await page.locator('#lag-chart polyline[data-series="flaky"]').count()).toBe(1);
  expect(await page.locator('#lag-legend li').allTextContents()).toContain('flaky');
  // The key is in this tab's sessionStorage only; no cookie was set.
  expect(await page.context().cookies()).toEqual([]);
});

it('finds the dead letter a failing handler made, retries it from the page, and sees it processed', { timeout: 30_000 }, async () => {
  const bad = published[1];
  await page.getByRole('link', { name: 'Dead letters' }).click();
  const row = page.locator(`#dead-letter-table tr[data-event="${bad.id}"]`);
  await row.waitFor();
  expect(await row.textContent()).toContain('order bad-1 is refused by the warehouse');
  expect(await row.locator('td').nth(2).textContent()).toBe('2'); // attempts
  await row.getByRole('button', { name: 'Inspect' }).click();
  expect(await page.locator('#dead-letter-json').textContent()).toContain('"firstFailedAt"');
  if (process.env.FLAMINGO_SCREENSHOT) await page.screenshot({ path: process.env.FLAMINGO_SCREENSHOT, fullPage: true });

  refuse = false;
  await row.getByRole('button', { name: 'Retry', exact: true }).click();
  await expect.poll(() => page.locator('#status').textContent()).toBe('Retried: 1.');
  await until(() => seen.get('bad-1') === 3, 'the retried order handled');
  await until(async () => (await flakyInfo()).deadLetters === 0 && (await flakyInfo()).lag === 0, 'no dead letter left');

  // The event browser says the subscription handled it.
  await page.getByRole('link', { name: 'Events' }).click();
  await page.locator('#event-filter').getByLabel('Subject').fill('order/bad-1');
  await page.locator('#event-filter').getByRole('button', { name: 'Search' }).click();
  await page.getByRole('button', { name: `Open ${bad.id}` }).click();
  await expect.poll(() => page.locator('#event-handlers li[data-subscription="flaky"]').getAttribute('data-state')).toBe('handled');
  expect(await page.locator('#event-json').textContent()).toContain('"orderId": "bad-1"');
});

it('rewinds the subscription from the page, and the handler sees the events again', { timeout: 30_000 }, async () => {
  const before = { good1: seen.get('good-1')!, good2: seen.get('good-2')! };
  await page.getByRole('link', { name: 'Subscriptions' }).click();
  await page.locator('#subscription-table tr[data-subscription="flaky"]').waitFor();
  // Waiting events of a delayed subscription are a column of their own, not lag.
  expect(await page.locator('#subscription-table thead th').allTextContents()).toEqual(['Name', 'Types', 'Position', 'Lag', 'Scheduled', 'In flight', 'Retrying', 'Dead letters', 'Consumers']);
  expect(await page.locator('#subscription-table tr[data-subscription="flaky"] td.scheduled').textContent()).toBe('0');
  const rewind = page.locator('#rewind');
  await rewind.getByLabel('Subscription').selectOption('flaky');
  await rewind.getByLabel('To', { exact: true }).selectOption('sequence');
  await rewind.getByLabel('Sequence').fill(String(published[2].sequence));
  await rewind.getByRole('button', { name: 'Rewind' }).click();
  await expect.poll(() => page.locator('#status').textContent()).toMatch(/^flaky rewound/);
  await until(() => seen.get('good-2') === before.good2 + 1, 'good-2 replayed');
  expect(seen.get('good-1')).toBe(before.good1); // before the sequence: not replayed

  // To a time before everything: all three again.
  await rewind.getByLabel('To', { exact: true }).selectOption('time');
  await rewind.getByLabel('Time').fill('2000-01-01T00:00:00');
  await rewind.getByRole('button', { name: 'Rewind' }).click();
  await until(() => seen.get('good-1') === before.good1 + 1 && seen.get('good-2') === before.good2 + 2, 'every order replayed');
});

it('creates a key shown once, lists it and revokes it', { timeout: 30_000 }, async () => {
  await page.getByRole('link', { name: 'Keys' }).click();
  await expect.poll(() => page.locator('#key-create select[name=producer] option').count()).toBeGreaterThan(1);
  const form = page.locator('#key-create');
  await form.getByLabel('Name').fill('webshop');
  await form.getByLabel('Producer').selectOption('orders');
  await form.getByRole('button', { name: 'Create key' }).click();
  await expect.poll(() => page.locator('#key-value').textContent()).not.toBe('');
  const key = (await page.locator('#key-value').textContent())!;
  expect((await server.request('GET', '/v1/events?limit=1', { key })).status).toBe(403); // a producer key, not an admin
  expect((await publishWith(key)).status).toBe(202);

  await page.getByRole('button', { name: 'Revoke webshop' }).click();
  await expect.poll(() => page.locator('#status').textContent()).toBe('webshop revoked.');
  expect((await publishWith(key)).status).toBe(401);
});

const publishWith = (key: string) =>
  server.request('POST', '/v1/events', { key, contentType: 'application/cloudevents+json', body: { specversion: '1.0', id: uuidv7(), source: '/test', type: 'order.placed', data: orderData('by-key') } });

it('lists the catalog with each schema, and says when delivery does not run here', { timeout: 30_000 }, async () => {
  // By keyboard: the link, Enter, and the focus is on the view's heading.
  await page.getByRole('link', { name: 'Catalog' }).focus();
  await page.keyboard.press('Enter');
  await expect.poll(() => page.evaluate('document.activeElement?.textContent')).toBe('Catalog');
  const placed = page.locator('#catalog-list details[data-type="order.placed"]');
  await placed.locator('summary').click();
  expect(await placed.locator('pre').textContent()).toContain('"orderId"');
  await page.getByRole('link', { name: 'Targets' }).click();
  await page.locator('#targets-absent').waitFor();
});

it('answers the overview to the admin only', async () => {
  expect((await server.request('GET', '/v1/overview', { key: null })).status).toBe(401);
  expect((await server.request('GET', '/v1/overview', { key: ordersKey })).status).toBe(403);
  const { status, body } = await server.request('GET', '/v1/overview');
  expect(status).toBe(200);
  expect(body).toMatchObject({ intervalSeconds: 0.2, engine: 'sqlite' });
  expect(body.samples.at(-1)).toMatchObject({ head: expect.any(Number), lag: { flaky: 0 } });
});

it('ran every view without a script error or a content security policy violation', () => {
  expect(pageErrors).toEqual([]);
});
