/**
 * The customer hub page in a real browser (playwright-core driving Debian's chromium): a customer
 * signs in, places an order through the shop API and watches it go placed → paid → dispatched →
 * delivered on the page without a reload, the unread badge rising with each notification; opens
 * the inbox and reads one, the badge falls. A second customer signed in at the same time sees none
 * of it. `FLAMINGO_SCREENSHOT=<file>` saves a picture of the order page (the README's).
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cartsService } from '../src/services/carts/index.ts';
import { catalogService } from '../src/services/catalog/index.ts';
import { fulfillmentService } from '../src/services/fulfillment/index.ts';
import { hubService } from '../src/services/hub/index.ts';
import { notificationsService } from '../src/services/notifications/index.ts';
import { eventually, startShop, type Shop } from './support/shop.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
let shop: Shop;
let browser: Browser;

beforeAll(async () => {
  shop = await startShop({ others: [catalogService(), cartsService(), fulfillmentService(), notificationsService(), hubService()], env: { FLAMINGO_SANDBOX_SLOW_MS: '200' } });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
});
afterAll(async () => {
  await browser?.close();
  await shop?.stop();
});

const signUp = async (email: string, name: string) => {
  const user = await shop.request('POST', '/v1/users', { key: null, body: { email, name, password: 'a good password' } });
  expect(user.status).toBe(201);
  const token = (await shop.request('POST', '/v1/auth/login', { key: null, body: { email, password: 'a good password' } })).body.token as string;
  return { userId: user.body.id as string, email, token };
};

const signIn = async (email: string): Promise<Page> => {
  const page = await (await browser.newContext({ viewport: { width: 390, height: 844 } })).newPage();
  await page.goto(`${shop.url}/account`);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill('a good password');
  await page.keyboard.press('Enter');
  await page.locator('#nav').waitFor();
  await page.evaluate(() => Object.assign(globalThis, { signedInOnce: true }));
  return page;
};
const badge = (page: Page) => page.locator('#badge');

it('shows a customer their order going placed → paid → dispatched → delivered live, with the badge; another customer sees nothing', { timeout: 60_000 }, async () => {
  const ada = await signUp('ada@example.test', 'Ada Lovelace');
  const bob = await signUp('bob@example.test', 'Bob');
  const product = await shop.request('POST', '/v1/products', { body: { sku: 'TEA-1', name: 'Green tea', priceCents: 1250, onHand: 5 } });
  const productId = product.body.id as string;

  const adaPage = await signIn(ada.email);
  const bobPage = await signIn(bob.email);
  await expect.poll(() => badge(adaPage).textContent()).toBe('1'); // the welcome
  await expect.poll(() => adaPage.locator('#orders-empty').isVisible()).toBe(true);

  const placed = await eventually(async () => {
    const answer = await shop.request('POST', '/v1/orders', { key: ada.token, body: { userId: ada.userId, items: [{ productId, quantity: 2 }], paymentToken: 'tok_ok' } });
    return answer.status === 201 ? answer : undefined;
  }, 'the orders replica to know the customer and the product');
  const orderId = placed.body.id as string;

  // The order appears in the list without a reload; open it.
  const item = adaPage.locator(`li[data-order="${orderId}"]`);
  await item.waitFor();
  await item.getByRole('link').click();
  const status = adaPage.locator('#order-status');
  const timeline = adaPage.locator('#timeline li');
  await expect.poll(() => status.textContent(), { timeout: 15_000 }).toBe('confirmed');
  await expect.poll(() => timeline.evaluateAll((items) => items.map((i) => i.getAttribute('data-type')))).toEqual(
    expect.arrayContaining(['order.placed', 'stock.reserved', 'payment.succeeded', 'order.confirmed']),
  );
  await expect.poll(() => badge(adaPage).textContent()).toBe('2');

  const shipment = await eventually(async () => (await shop.request('GET', `/v1/shipments?orderId=${orderId}`)).body.shipments?.[0], 'the shipment');
  expect((await shop.request('POST', `/v1/shipments/${shipment.id}/dispatch`, { body: { carrier: 'PostNL', trackingNumber: 'PNL123' } })).status).toBe(200);
  await expect.poll(() => status.textContent()).toBe('dispatched');
  await expect.poll(() => badge(adaPage).textContent()).toBe('3');
  await expect.poll(() => adaPage.locator('#timeline').textContent()).toContain('PNL123');
  expect((await shop.request('POST', `/v1/shipments/${shipment.id}/deliver`)).status).toBe(200);
  await expect.poll(() => status.textContent()).toMatch(/^(delivered|completed)$/);
  await expect.poll(() => badge(adaPage).textContent()).toBe('4');
  await expect.poll(() => status.textContent()).toBe('completed');
  if (process.env.FLAMINGO_SCREENSHOT) await adaPage.screenshot({ path: process.env.FLAMINGO_SCREENSHOT, fullPage: true });

  // Open the inbox with the keyboard-reachable link, read one notification: the badge falls.
  await adaPage.getByRole('link', { name: /Notifications/ }).click();
  const unread = adaPage.locator('#notifications li.unread');
  await expect.poll(() => unread.count()).toBe(4);
  await unread.first().getByRole('button', { name: /Mark .* read/ }).click();
  await expect.poll(() => badge(adaPage).textContent()).toBe('3');
  await expect.poll(() => unread.count()).toBe(3);
  expect(await adaPage.evaluate(() => (globalThis as { signedInOnce?: boolean }).signedInOnce)).toBe(true); // never reloaded

  // Bob, signed in all along, saw none of it.
  expect(await badge(bobPage).textContent()).toBe('1');
  await bobPage.getByRole('link', { name: 'Orders' }).click();
  await expect.poll(() => bobPage.locator('#orders-empty').isVisible()).toBe(true);
  expect(await bobPage.locator(`[data-order="${orderId}"]`).count()).toBe(0);
  await bobPage.goto(`${shop.url}/account#/orders/${orderId}`);
  await expect.poll(() => bobPage.locator('#view').textContent()).toBe('Not found.');
});
