import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { DIALECTS, uniqueName } from './support/service-databases.ts';
import { startServiceServer, waitUntil, type ServiceServer } from './support/service-server.ts';
import { openDatabase, type Dialect } from '../src/platform/db.ts';
import { notificationsService } from '../src/services/notifications/index.ts';
import type { ServiceContext, ServiceDefinition } from '../src/services/service.ts';
import { hubService } from '../src/services/hub/index.ts';
import type { HubDatabase } from '../src/services/hub/store.ts';

describe.each(DIALECTS)('customer hub and notifications on %s', (dialect: Dialect) => {
  let server: ServiceServer;
  let context: ServiceContext;
  const hubDb = uniqueName('hub');
  const notificationsDb = uniqueName('notifications');
  const rebuiltDb = uniqueName('hub_rebuilt');
  /** Hands the test the services' context, to start a second hub later. */
  const capture: ServiceDefinition = {
    name: 'capture',
    reads: [],
    start: async (ctx) => {
      context = ctx;
      return { stop: async () => {} };
    },
  };
  beforeAll(async () => {
    server = await startServiceServer(dialect, [
      notificationsService({ databaseName: notificationsDb, email: { pollMs: 100 } }),
      hubService({ databaseName: hubDb }),
      capture,
    ]);
  });
  afterAll(() => server.stopAndDrop([hubDb, notificationsDb, rebuiltDb]));

  const customer = async () => {
    const userId = uuidv7();
    const email = `c${userId.slice(-6)}@example.test`;
    await server.flamingo.bus.publish({ type: 'user.registered', data: { userId, email, name: 'Ada' } });
    return { userId, email, token: await server.tokens.sign({ userId, email }) };
  };
  const SSE = { accept: 'text/event-stream' };
  /** The stream's text until `stop` says enough. */
  const readStream = async (headers: Record<string, string>, stop: (text: string) => boolean) => {
    const abort = new AbortController();
    const response = await fetch(`${server.url}/v1/me/stream`, { headers: { ...SSE, ...headers }, signal: abort.signal });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!stop(text)) text += (await reader.read()).value ?? '';
    abort.abort();
    return text;
  };
  /** A browser session for `token`: the cookie header to send. */
  const sessionCookie = async (token: string) => {
    const started = await fetch(`${server.url}/v1/auth/session`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(started.status).toBe(200);
    return started.headers.getSetCookie()[0].split(';')[0];
  };
  const me = (token: string | null, method: string, route: string, body?: unknown) => server.request(method, `/v1/me${route}`, { key: token, body });

  /** An order's whole life on the bus, as the shop's services publish it. */
  const orderLife = async (userId: string) => {
    const orderId = uuidv7();
    const paymentId = uuidv7();
    const shipmentId = uuidv7();
    const items = [{ productId: uuidv7(), quantity: 2, unitPriceCents: 1250 }];
    const { bus } = server.flamingo;
    await bus.publish({ type: 'order.placed', data: { orderId, userId, items, totalCents: 2500, currency: 'EUR', paymentToken: 'tok_secret_ok' } });
    await bus.publish({ type: 'stock.reserved', data: { orderId, items: [{ productId: items[0].productId, quantity: 2 }] } });
    await bus.publish({ type: 'payment.succeeded', data: { paymentId, orderId, userId, amountCents: 2500, currency: 'EUR' } });
    await bus.publish({ type: 'order.confirmed', data: { orderId, userId, paymentId, items, totalCents: 2500, currency: 'EUR' } });
    await bus.publish({ type: 'shipment.created', data: { shipmentId, orderId, userId, items: [{ productId: items[0].productId, quantity: 2 }] } });
    await bus.publish({ type: 'shipment.dispatched', data: { shipmentId, orderId, userId, carrier: 'DHL', trackingNumber: 'TRACK42' } });
    await bus.publish({ type: 'shipment.delivered', data: { shipmentId, orderId, userId, carrier: 'DHL' } });
    await bus.publish({ type: 'order.completed', data: { orderId, userId, totalCents: 2500, currency: 'EUR' } });
    return orderId;
  };
  const orderOf = (token: string, orderId: string, status: string, entries: number) =>
    waitUntil(async () => {
      const found = await me(token, 'GET', `/v1/me/orders/${orderId}`.replace('/v1/me', ''));
      return found.status === 200 && found.body.status === status && found.body.timeline.length >= entries ? found.body : undefined;
    }, 15_000, `order ${orderId} ${status}`);

  it("projects an order's life into one timeline, in order, with the notifications sent about it; customers see only their own", async () => {
    const ada = await customer();
    const bob = await customer();
    const orderId = await orderLife(ada.userId);
    // 8 events of the order and 3 notifications on it (confirmed, dispatched, delivered).
    const order = await orderOf(ada.token, orderId, 'completed', 11);
    expect(order).toMatchObject({ id: orderId, totalCents: 2500, currency: 'EUR', itemCount: 2 });
    const types = order.timeline.map((e: { type: string }) => e.type);
    expect(types.filter((t: string) => t !== 'notification.created')).toEqual([
      'order.placed',
      'stock.reserved',
      'payment.succeeded',
      'order.confirmed',
      'shipment.created',
      'shipment.dispatched',
      'shipment.delivered',
      'order.completed',
    ]);
    expect(types.filter((t: string) => t === 'notification.created')).toHaveLength(3);
    const times = order.timeline.map((e: { time: string }) => e.time);
    expect([...times].sort()).toEqual(times);
    expect(order.timeline[0]).toMatchObject({ eventId: expect.any(String), sentence: 'You placed the order: 2 items, €25.00.' });
    expect(JSON.stringify(order)).not.toContain('tok_secret_ok');

    const list = await me(ada.token, 'GET', '/orders');
    expect(list.body.orders.map((o: { id: string }) => o.id)).toEqual([orderId]);
    expect((await me(bob.token, 'GET', `/orders/${orderId}`)).status).toBe(404);
    expect((await me(bob.token, 'GET', '/orders')).body.orders).toEqual([]);
    expect((await me(null, 'GET', '/orders')).status).toBe(401);
    expect((await me(null, 'GET', `/orders/${orderId}`)).status).toBe(401);
    expect((await me(server.adminKey, 'GET', '/orders')).status).toBe(403);
  });

  it('keeps an inbox whose unread count moves with reads, in the answer and on the stream', async () => {
    const ada = await customer();
    const bob = await customer();
    // The welcome first (user.registered and the order's events are of different keys: either may be handled first).
    await waitUntil(async () => ((await me(ada.token, 'GET', '/notifications')).body.notifications.length === 1 ? true : undefined));
    const orderId = await orderLife(ada.userId);
    await orderOf(ada.token, orderId, 'completed', 11);
    // welcome + confirmed + dispatched + delivered
    const inbox = await waitUntil(async () => {
      const got = await me(ada.token, 'GET', '/notifications');
      return got.body.notifications.length === 4 ? got.body : undefined;
    });
    expect(inbox.unreadCount).toBe(4);
    expect(inbox.notifications.map((n: { sourceType: string }) => n.sourceType)).toEqual(['shipment.delivered', 'shipment.dispatched', 'order.confirmed', 'user.registered']);
    expect(inbox.notifications[1]).toMatchObject({ category: 'shipping', read: false, link: `/account#/orders/${orderId}`, body: expect.stringContaining('TRACK42') });

    const page1 = await me(ada.token, 'GET', '/notifications?limit=3');
    expect(page1.body.notifications).toHaveLength(3);
    const page2 = await me(ada.token, 'GET', `/notifications?limit=3&after=${page1.body.next}`);
    expect(page2.body).toMatchObject({ notifications: [expect.objectContaining({ sourceType: 'user.registered' })], next: null });
    expect((await me(ada.token, 'GET', '/notifications?after=bogus')).body.detail[0].path).toBe('/query/after');

    const stream = new AbortController();
    // Once the answer's headers are here, every later change is on the stream.
    const response = await fetch(`${server.url}/v1/me/stream`, { headers: { ...SSE, authorization: `Bearer ${ada.token}` }, signal: stream.signal });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let seen = '';
    const until = async (text: string) => {
      while (!seen.includes(text)) seen += (await reader.read()).value ?? '';
    };

    const first = inbox.notifications[0].id;
    expect((await me(bob.token, 'POST', `/notifications/${first}/read`)).status).toBe(404);
    expect((await me(ada.token, 'POST', `/notifications/${first}/read`)).body).toEqual({ read: 1, unreadCount: 3 });
    expect((await me(ada.token, 'POST', `/notifications/${first}/read`)).body).toEqual({ read: 0, unreadCount: 3 });
    await until('"unreadCount":3');
    expect((await me(ada.token, 'GET', '/notifications?unread=true')).body.notifications).toHaveLength(3);
    expect((await me(ada.token, 'POST', '/notifications/read-all')).body).toEqual({ read: 3, unreadCount: 0 });
    await until('"unreadCount":0');
    expect(seen).toMatch(/id: \d+\nevent: read\ndata: /);
    stream.abort();
  });

  it('resumes a stream after Last-Event-ID with nothing missed or repeated; a browser opens it with its session cookie', async () => {
    const ada = await customer();
    const welcome = await waitUntil(async () => {
      const got = await me(ada.token, 'GET', '/notifications');
      return got.body.notifications[0];
    });
    expect(welcome.title).toBe('Welcome to Flamingo, Ada');
    // From position 0: the welcome notification is there.
    const all = await readStream({ authorization: `Bearer ${ada.token}`, 'last-event-id': '0' }, (t) => t.includes('event: notification'));
    const lastId = Number([...all.matchAll(/^id: (\d+)$/gm)].at(-1)![1]);
    const orderId = await orderLife(ada.userId);
    await orderOf(ada.token, orderId, 'completed', 11);
    expect((await server.request('GET', '/v1/me/stream', { key: null, headers: SSE })).status).toBe(401);
    expect((await server.request('GET', '/v1/me/stream', { key: ada.token, headers: { ...SSE, 'last-event-id': 'x' } })).body.detail[0].path).toBe('/headers/last-event-id');
    // The browser's way: the token traded for an HttpOnly cookie, which EventSource sends.
    const cookie = await sessionCookie(ada.token);
    const resumed = await readStream({ cookie, 'last-event-id': String(lastId) }, (t) => (t.match(/^id: /gm) ?? []).length >= 14);
    const ids = [...resumed.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(ids[0]).toBeGreaterThan(lastId);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    // 8 timeline entries, 3 notifications, 3 timeline entries of those notifications.
    expect((resumed.match(/^event: timeline$/gm) ?? []).length).toBe(11);
    expect((resumed.match(/^event: notification$/gm) ?? []).length).toBe(3);
  });

  it("ends a banned customer's open streams, and their session opens none", async () => {
    const eve = await customer();
    const cookie = await sessionCookie(eve.token);
    const response = await fetch(`${server.url}/v1/me/stream`, { headers: { ...SSE, cookie } });
    expect(response.status).toBe(200);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    await server.flamingo.bus.publish({ type: 'user.banned', data: { userId: eve.userId, reason: 'fraud', bannedBy: 'admin' } });
    while (!(await reader.read()).done);
    // The guard answers from a cache at most 100 ms old (platform/auth/revocations.ts), and the hub
    // may end the streams before that: the session is refused within the cache's time, then for good.
    await waitUntil(async () => ((await server.request('GET', '/v1/me/notifications', { key: null, headers: { cookie } })).status === 403 ? true : undefined), 5_000, 'the ban at the guard');
    expect((await server.request('GET', '/v1/me/stream', { key: null, headers: { ...SSE, cookie } })).status).toBe(403);
  });

  it('emails each notification once as a file on the embedded default, as the preferences say; critical categories cannot be switched off', async () => {
    const ada = await customer();
    const prefs = await me(ada.token, 'GET', '/preferences');
    expect(prefs.body.categories).toContainEqual({ category: 'payment', critical: true, inApp: true, email: true });
    const refused = await me(ada.token, 'PUT', '/preferences', { categories: [{ category: 'shipping', email: false }, { category: 'security', email: false }] });
    expect(refused).toMatchObject({ status: 422, body: { error: 'critical_category', detail: [{ path: '/categories/1/email' }] } });
    expect((await me(ada.token, 'PUT', '/preferences', { categories: [{ category: 'order', inApp: false }] })).body.error).toBe('inbox_always_on');
    expect((await me(ada.token, 'PUT', '/preferences', { categories: [{ category: 'sms', email: true }] })).body.detail[0].path).toMatch(/^\/body\/categories\/0\/category/);
    expect((await me(ada.token, 'GET', '/preferences')).body).toEqual(prefs.body);
    const changed = await me(ada.token, 'PUT', '/preferences', { categories: [{ category: 'shipping', email: false }] });
    expect(changed.body.categories).toContainEqual({ category: 'shipping', critical: false, inApp: true, email: false });

    const orderId = await orderLife(ada.userId);
    await server.flamingo.bus.publish({ type: 'payment.failed', data: { orderId, userId: ada.userId, error: 'card declined' } });
    // Two days old: an inbox entry, no email.
    const old = new Date(Date.now() - 48 * 3600_000).toISOString();
    await server.flamingo.bus.publish({ type: 'payment.refunded', time: old, data: { refundId: uuidv7(), paymentId: uuidv7(), orderId, userId: ada.userId, amountCents: 100, currency: 'EUR', reason: 'goodwill' } });
    const inbox = await waitUntil(async () => {
      const got = await me(ada.token, 'GET', '/notifications');
      return got.body.notifications.length === 6 ? got.body.notifications : undefined;
    }, 15_000);
    if (dialect === 'postgres') return; // the data dir's mail folder is the same on both; one look is enough
    const mailDir = path.join(server.dataDir, 'mail');
    const mailed = (id: string) => readdirSync(mailDir).includes(`${id}.eml`);
    const byType = (type: string) => inbox.find((n: { sourceType: string }) => n.sourceType === type).id as string;
    await waitUntil(async () => (mailed(byType('payment.failed')) && mailed(byType('order.confirmed')) && mailed(byType('user.registered')) ? true : undefined));
    expect(mailed(byType('shipment.dispatched'))).toBe(false);
    expect(mailed(byType('shipment.delivered'))).toBe(false);
    expect(mailed(byType('payment.refunded'))).toBe(false);
    const mail = await simpleParser(readFileSync(path.join(mailDir, `${byType('order.confirmed')}.eml`)));
    expect(mail.messageId).toBe(`<${byType('order.confirmed')}@flamingo.localhost>`);
    expect(mail.to).toMatchObject({ value: [{ name: 'Ada', address: ada.email }] });
    expect(mail.subject).toMatch(/^Order [0-9A-F]{8} confirmed$/);
    const link = `http://localhost:3000/account#/orders/${orderId}`;
    expect(mail.text).toContain(link);
    expect(mail.html).toContain(`href="${link}"`);
  });

  it('builds the same orders, timelines and inbox again from the beginning of the log; a rewind changes nothing', async () => {
    const ada = await customer();
    const orderId = await orderLife(ada.userId);
    await orderOf(ada.token, orderId, 'completed', 11);
    await server.drained('hub.orders');
    await server.drained('hub.notifications');
    await server.flamingo.bus.rewind('hub.orders', 'beginning');
    await server.flamingo.bus.rewind('hub.notifications', 'beginning');
    await server.drained('hub.orders');
    await server.drained('hub.notifications');

    const rebuilt = await hubService({ databaseName: rebuiltDb, subscriptionPrefix: 'hub_rebuilt', routes: false }).start(context);
    try {
      await server.drained('hub_rebuilt.orders', 30_000);
      await server.drained('hub_rebuilt.notifications', 30_000);
      const snapshot = async (name: string) => {
        const { db, close } = await openDatabase<HubDatabase>(name, context.database);
        try {
          return {
            orders: await db.selectFrom('orders').selectAll().orderBy('id').execute(),
            timeline: await db.selectFrom('timeline').selectAll().orderBy('event_id').execute(),
            notifications: await db.selectFrom('notifications').select(['id', 'user_id', 'title', 'body', 'order_id', 'created_at', 'sequence']).orderBy('id').execute(),
          };
        } finally {
          await close();
        }
      };
      const original = await snapshot(hubDb);
      expect(original.timeline.filter((e) => e.order_id === orderId)).toHaveLength(11);
      expect(await snapshot(rebuiltDb)).toEqual(original);
    } finally {
      await rebuilt.stop();
    }
  });
  it('lets payment.failed overtake a backlog of background events in the notifications service (its own lane)', { timeout: 60_000 }, async () => {
    const ada = await customer();
    await waitUntil(async () => ((await me(ada.token, 'GET', '/notifications')).body.notifications.length === 1 ? true : undefined));
    // 3 000 background events the notifications service reads (other customers' profile changes, each
    // its own key, so they would fill every slot of a shared subscription), queued at once.
    const { bus } = server.flamingo;
    for (let i = 0; i < 3_000; i += 500) {
      await Promise.all(Array.from({ length: 500 }, (_, j) => bus.publish({ type: 'user.updated', data: { userId: uuidv7(), email: `o${i + j}@example.test`, name: 'Other', changed: ['email'] } })));
    }
    await bus.publish({ type: 'payment.failed', data: { orderId: uuidv7(), userId: ada.userId, error: 'card declined' } });
    await waitUntil(async () => ((await me(ada.token, 'GET', '/notifications?unread=true')).body.notifications.some((n: { sourceType: string }) => n.sourceType === 'payment.failed') ? true : undefined), 30_000);
    const background = (await bus.subscriptions()).find((s) => s.name === 'notifications.background');
    expect(background?.lag).toBeGreaterThan(0);
  });
});
