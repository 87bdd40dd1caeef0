/**
 * The admin console's targets view in Chromium (playwright-core), with the delivery service running:
 * a target's status, rate vs limit, circuit and attempt log are shown, and it is paused and
 * resumed from the page.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deliveryService } from '../src/services/delivery/index.ts';
import { startShopifyTarget, type ShopifyTarget } from '../src/services/delivery/testing/shopify-target.ts';
import { uniqueName } from './support/service-databases.ts';
import { startServiceServer, waitUntil, type ServiceServer } from './support/service-server.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
let server: ServiceServer;
let shop: ShopifyTarget;
let browser: Browser;
let page: Page;
let targetId: string;

beforeAll(async () => {
  server = await startServiceServer('sqlite', [deliveryService({ databaseName: uniqueName('delivery') })]);
  shop = await startShopifyTarget({ leakPerSecond: 100 });
  const added = await server.request('POST', '/v1/targets', { body: { name: 'shop', url: `${shop.url}/admin/api/events.json`, types: ['cart.*'], rateLimit: { limit: 5 } } });
  expect(added.status, added.text).toBe(201);
  targetId = added.body.id;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  page = await (await browser.newContext()).newPage();
  page.setDefaultTimeout(10_000);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await shop?.close();
  await server?.stop();
});

const publish = () => server.flamingo.bus.publish({ type: 'cart.item_added', data: { cartId: uuidv7(), items: [1], item: 1 } });
const status = async () => (await server.request('GET', `/v1/targets/${targetId}`)).body.status as string;

it('shows a target with its rate limit, circuit and attempts, and pauses and resumes it from the page', { timeout: 60_000 }, async () => {
  const first = await publish();
  await waitUntil(async () => (shop.delivered.has(first.id) ? true : undefined), 10_000, 'the first delivery');

  await page.goto(`${server.url}/console#targets`);
  await page.getByLabel('Admin key').fill(server.adminKey);
  await page.keyboard.press('Enter');
  const row = page.locator(`#target-table tr[data-target="${targetId}"]`);
  await row.waitFor();
  expect(await row.locator('.target-status').textContent()).toBe('active');
  expect(await row.textContent()).toContain('/ 5 per 1 s');
  expect(await row.textContent()).toContain('closed');
  await row.getByRole('button', { name: 'Attempts' }).click();
  await expect.poll(() => page.locator('#attempt-table tbody').textContent()).toContain(first.id);
  expect(await page.locator('#attempt-table tbody').textContent()).toContain('delivered');

  await row.getByRole('button', { name: 'Pause' }).click();
  await expect.poll(() => row.locator('.target-status').textContent()).toBe('paused (paused by an administrator)');
  expect(await status()).toBe('paused');
  const held = await publish();

  await row.getByRole('button', { name: 'Resume' }).click();
  await expect.poll(() => row.locator('.target-status').textContent()).toBe('active');
  expect(await status()).toBe('active');
  await waitUntil(async () => (shop.delivered.has(held.id) ? true : undefined), 10_000, 'the event published while paused, delivered after resume');
});
