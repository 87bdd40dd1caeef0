/**
 * The platform's web pieces (issue 16 item 8): static files under /web/, a browser session (an
 * HttpOnly cookie beside the bearer key/token, good for GET only) and Server-Sent Events resumable
 * with Last-Event-ID — through `GET /v1/events/stream`, which masks secrets like every read.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
let web: string;
let ordersKey: string;

beforeAll(async () => {
  web = mkdtempSync(path.join(os.tmpdir(), 'flamingo-web-'));
  writeFileSync(path.join(web, 'index.html'), '<!doctype html><title>Flamingo</title>');
  mkdirSync(path.join(web, 'console'));
  writeFileSync(path.join(web, 'console', 'app.js'), 'export const page = "console";');
  writeFileSync(path.join(web, '.env'), 'SECRET=1');
  server = await startTestServer({}, { webRoot: web });
  ordersKey = await server.producerKey('orders');
});
afterAll(async () => {
  await server?.stop();
  rmSync(web, { recursive: true, force: true });
});

const order = (orderId: string) => ({
  specversion: '1.0',
  id: orderId,
  source: '/test',
  type: 'order.placed',
  data: { orderId, userId: 'u-1', items: [{ productId: 'p-1', quantity: 1, unitPriceCents: 100 }], totalCents: 100, currency: 'EUR', paymentToken: 'tok_ok_sse_secret' },
});

/** Starts a browser session with the admin key; the cookie as a browser would send it back. */
async function adminSession(): Promise<string> {
  const started = await server.request('POST', '/v1/auth/session');
  expect(started.status).toBe(200);
  const setCookie = started.headers.get('set-cookie') ?? '';
  expect(setCookie).toMatch(/^flamingo_session=[^;]+;/);
  expect(setCookie).toMatch(/HttpOnly/i);
  expect(setCookie).toMatch(/SameSite=Strict/i);
  return setCookie.split(';')[0];
}

interface SseMessage {
  id?: string;
  event?: string;
  data?: string;
}

/** Opens the stream and reads until `count` messages came; returns them (heartbeat comments skipped). */
async function readStream(headers: Record<string, string>, count: number, query = ''): Promise<{ status: number; messages: SseMessage[] }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 10_000);
  const response = await fetch(`${server.url}/v1/events/stream${query}`, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  if (response.status !== 200 || !response.body) {
    clearTimeout(timer);
    return { status: response.status, messages: [] };
  }
  const messages: SseMessage[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const message: SseMessage = {};
        for (const line of block.split('\n')) {
          const [field, ...rest] = line.split(':');
          const value = rest.join(':').replace(/^ /, '');
          if (field === 'id' || field === 'event' || field === 'data') message[field] = value;
        }
        if (message.data !== undefined) messages.push(message);
      }
      if (messages.length >= count) break;
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return { status: response.status, messages };
}

describe('static files', () => {
  it('serves the web pages under /web/, index included, and nothing else', async () => {
    const index = await fetch(`${server.url}/web/`);
    expect([index.status, await index.text()]).toEqual([200, '<!doctype html><title>Flamingo</title>']);
    const script = await fetch(`${server.url}/web/console/app.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${server.url}/web/.env`)).status).toBeGreaterThanOrEqual(400);
    expect((await fetch(`${server.url}/web/../package.json`)).status).toBeGreaterThanOrEqual(400);
    expect((await fetch(`${server.url}/web/%2e%2e/%2e%2e/package.json`)).status).toBeGreaterThanOrEqual(400);
  });
});

describe('a browser session', () => {
  it('is started with a key and then stands in for it on GET, never on a change', async () => {
    const cookie = await adminSession();
    expect((await server.request('GET', '/v1/subscriptions', { key: null })).status).toBe(401);
    expect((await server.request('GET', '/v1/subscriptions', { key: null, headers: { cookie } })).status).toBe(200);
    // A POST with only the cookie is anonymous: a page of another site cannot act with it.
    expect((await server.request('POST', '/v1/keys', { key: null, headers: { cookie }, body: { producer: 'orders' } })).status).toBe(401);
  });

  it('is refused when altered, and cannot be used as a bearer token', async () => {
    const cookie = await adminSession();
    const value = cookie.split('=')[1];
    const altered = `flamingo_session=${value.slice(0, -3)}${value.endsWith('AAA') ? 'BBB' : 'AAA'}`;
    const refused = await server.request('GET', '/v1/subscriptions', { key: null, headers: { cookie: altered } });
    expect(refused.status).toBe(401);
    expect(refused.body.message).toMatch(/browser session is not valid/);
    expect((await server.request('GET', '/v1/subscriptions', { key: value })).status).toBe(401);
  });

  it('needs a key or token to start', async () => {
    expect((await server.request('POST', '/v1/auth/session', { key: null })).status).toBe(401);
    expect((await server.request('POST', '/v1/auth/session', { key: ordersKey })).status).toBe(403);
  });

  it('ends with DELETE, which clears the cookie', async () => {
    const ended = await server.request('DELETE', '/v1/auth/session', { key: null });
    expect(ended.status).toBe(204);
    expect(ended.headers.get('set-cookie')).toMatch(/^flamingo_session=;/);
  });
});

describe('GET /v1/events/stream', () => {
  it('needs the admin (key or browser session)', async () => {
    expect((await readStream({}, 0)).status).toBe(401);
    expect((await readStream({ authorization: `Bearer ${ordersKey}` }, 0)).status).toBe(403);
  });

  it('streams the log with the sequence as id, secrets masked, and resumes after Last-Event-ID', async () => {
    const first = await server.request('POST', '/v1/events', { key: ordersKey, body: [order('sse-1'), order('sse-2'), order('sse-3')] });
    expect(first.status).toBe(202);
    const sequences = (first.body.events as { sequence: number }[]).map((e) => e.sequence);
    const cookie = await adminSession();

    const all = await readStream({ cookie }, 3, `?type=order.placed&afterSequence=${sequences[0] - 1}`);
    expect(all.status).toBe(200);
    expect(all.messages.map((m) => m.id)).toEqual(sequences.map(String));
    expect(all.messages.map((m) => m.event)).toEqual(['order.placed', 'order.placed', 'order.placed']);
    const data = JSON.parse(all.messages[0].data!);
    expect(data).toMatchObject({ type: 'order.placed', sequence: sequences[0], data: { orderId: 'sse-1', paymentToken: '[redacted]' } });
    expect(all.messages.map((m) => m.data).join('')).not.toContain('tok_ok_sse_secret');

    // A reconnecting EventSource sends the last id it saw: the stream goes on after it.
    const resumed = await readStream({ cookie, 'last-event-id': String(sequences[0]) }, 2, '?type=order.placed&afterSequence=0');
    expect(resumed.messages.map((m) => m.id)).toEqual(sequences.slice(1).map(String));
  });

  it('follows new events live', async () => {
    const cookie = await adminSession();
    const reading = readStream({ cookie }, 1, '?type=order.placed');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const published = await server.request('POST', '/v1/events', { key: ordersKey, body: order('sse-live') });
    const live = await reading;
    expect(live.messages.map((m) => m.id)).toEqual([String(published.body.sequence)]);
  });

  it('refuses a Last-Event-ID that is not a sequence, naming the header', async () => {
    const response = await fetch(`${server.url}/v1/events/stream`, { headers: { accept: 'text/event-stream', authorization: `Bearer ${server.adminKey}`, 'last-event-id': 'abc' } });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { detail: unknown }).detail).toEqual([{ path: '/headers/last-event-id', message: 'must be a whole number' }]);
  });
});
