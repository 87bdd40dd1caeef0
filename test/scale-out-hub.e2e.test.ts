/**
 * The customer hub and notifications in a process of their own on NATS JetStream and PostgreSQL,
 * the shop in another: the consumers see the shop only through the bus. A customer signs up and
 * orders on the shop's process and follows the order on the consumers' process — orders, timeline,
 * inbox, live stream and emails (`.eml` files, no SMTP configured).
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { adminApi, labelled, showOutputOnFailure, startFlamingoProcess, useScaleOutRun, waitFor } from './support/scale-out.ts';

const ADMIN_KEY = 'scale-out-hub-admin-key-0123456789';
const TOKEN_SECRET = 'scale-out-hub-token-secret-0123456789abcdef';

const scaleOut = useScaleOutRun();
const { processes } = scaleOut;

it('follows an order placed on the shop process from the hub process, live', { timeout: 90_000 }, async () => {
  showOutputOnFailure(processes);
  const env = (name: string) => ({
    ...scaleOut.run.env,
    DATABASE_URL: labelled(scaleOut.run.databaseUrl!, name),
    FLAMINGO_ADMIN_KEY: ADMIN_KEY,
    FLAMINGO_TOKEN_SECRET: TOKEN_SECRET,
    FLAMINGO_SANDBOX_SLOW_MS: '200',
    LOG_LEVEL: 'warn',
  });
  const [shopProcess, consumersProcess] = await Promise.all([
    startFlamingoProcess('shop', ['start', '--services', 'users,catalog,carts,orders,payments,fulfillment,reviews'], env('shop')),
    startFlamingoProcess('consumers', ['start', '--services', 'notifications,hub'], env('consumers')),
  ]);
  processes.push(shopProcess, consumersProcess);
  const shop = adminApi(shopProcess.url, ADMIN_KEY);
  const consumers = adminApi(consumersProcess.url, ADMIN_KEY);

  const product = await shop.call('POST', '/v1/products', { sku: 'TEA-1', name: 'Green tea', priceCents: 800, onHand: 10 });
  const user = await shop.call('POST', '/v1/users', { email: 'split@example.test', name: 'Split', password: 'a good password' });
  expect(user.status).toBe(201);
  const token = (await shop.call('POST', '/v1/auth/login', { email: 'split@example.test', password: 'a good password' })).body.token as string;
  const asCustomer = async (url: string, method: string, route: string, body?: unknown) => {
    const response = await fetch(`${url}${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };

  // The live stream on the consumers' process, from the start.
  const stream = new AbortController();
  const sse = await fetch(`${consumersProcess.url}/v1/me/stream`, { headers: { accept: 'text/event-stream', authorization: `Bearer ${token}`, 'last-event-id': '0' }, signal: stream.signal });
  const reader = sse.body!.pipeThrough(new TextDecoderStream()).getReader();
  let streamed = '';
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      streamed += value;
    }
  })();

  const orderId = await waitFor(
    async () => {
      const placed = await asCustomer(shopProcess.url, 'POST', '/v1/orders', { userId: user.body.id, items: [{ productId: product.body.id, quantity: 3 }], paymentToken: 'tok_ok' });
      return placed.status === 201 ? (placed.body.id as string) : undefined;
    },
    () => 'the orders replica to know the customer and the product',
    20_000,
  );
  const shipment = await waitFor(async () => (await shop.call('GET', `/v1/shipments?orderId=${orderId}`)).body.shipments?.[0], () => 'the shipment', 20_000);
  expect((await shop.call('POST', `/v1/shipments/${shipment.id}/dispatch`)).status).toBe(200);
  expect((await shop.call('POST', `/v1/shipments/${shipment.id}/deliver`)).status).toBe(200);

  // The shop's process serves the hub's routes too (its projection runs on the consumers' process).
  expect((await asCustomer(shopProcess.url, 'GET', '/v1/me/orders')).status).toBe(200);
  let seen: unknown;
  const order = await waitFor(
    async () => {
      const found = await asCustomer(consumersProcess.url, 'GET', `/v1/me/orders/${orderId}`);
      seen = found.body;
      return found.body.status === 'completed' && found.body.timeline.length === 11 ? found.body : undefined;
    },
    () => `order ${orderId} completed on the hub; last seen ${JSON.stringify(seen)}`,
    30_000,
  );
  expect(order).toMatchObject({ totalCents: 2400, currency: 'EUR', itemCount: 3 });
  expect(order.timeline.map((e: { type: string }) => e.type).filter((t: string) => t !== 'notification.created')).toEqual([
    'order.placed',
    'stock.reserved',
    'payment.succeeded',
    'order.confirmed',
    'shipment.created',
    'shipment.dispatched',
    'shipment.delivered',
    'order.completed',
  ]);
  const inbox = (await asCustomer(consumersProcess.url, 'GET', '/v1/me/notifications')).body;
  expect(inbox.unreadCount).toBe(4);
  expect(inbox.notifications.map((n: { sourceType: string }) => n.sourceType).sort()).toEqual(['order.confirmed', 'shipment.delivered', 'shipment.dispatched', 'user.registered']);

  await waitFor(async () => ((streamed.match(/^event: notification$/gm) ?? []).length === 4 ? true : undefined), () => `4 notifications on the stream, saw:\n${streamed}`, 10_000);
  expect((streamed.match(/^event: timeline$/gm) ?? []).length).toBe(11);
  stream.abort();

  const mailDir = path.join(consumersProcess.dataDir, 'mail');
  await waitFor(async () => (readdirSync(mailDir).filter((f) => f.endsWith('.eml')).length === 4 ? true : undefined), () => 'four .eml files', 10_000);
  expect((await consumers.subscription('notifications.immediate'))?.deadLetters).toBe(0);
});
