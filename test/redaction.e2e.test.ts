/**
 * Secrets marked in the catalog do not leave through the ways out (issue 16 item 6): the payment
 * token of `order.placed` reads `[redacted]` in `GET /v1/events`, `flamingo tail`, the dead letters
 * and a logged event — while the log keeps it whole for the subscription it is meant for (payments).
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failPermanently, type Subscription } from '../src/bus/index.ts';
import { loggerOptions } from '../src/platform/logger.ts';
import { runCli } from './support/cli.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const TOKEN = 'tok_ok_secret_4242';
let server: TestServer;
let refusing: Subscription;
const received: unknown[] = [];

beforeAll(async () => {
  server = await startTestServer();
  refusing = await server.flamingo.bus.subscribe({ name: 'refusing', types: ['order.placed'], retry: { maxAttempts: 1 } }, async (event) => {
    received.push(event.data);
    throw failPermanently('refused by the test');
  });
  const key = await server.producerKey('orders');
  const data = { orderId: 'o-secret', userId: 'u-1', items: [{ productId: 'p-1', quantity: 1, unitPriceCents: 100 }], totalCents: 100, currency: 'EUR', paymentToken: TOKEN };
  const published = await server.request('POST', '/v1/events', { key, body: { specversion: '1.0', id: 'o-secret-1', source: '/test', type: 'order.placed', data } });
  expect(published.status).toBe(202);
  for (let i = 0; i < 200 && (await server.request('GET', '/v1/subscriptions/refusing/dead-letters')).body.deadLetters.length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
});
afterAll(async () => {
  await refusing?.close();
  await server?.stop();
});

describe('the payment token of order.placed', () => {
  it('reaches the subscription it is meant for whole (the log keeps it)', () => {
    expect(received[0]).toMatchObject({ paymentToken: TOKEN });
  });

  it('reads [redacted] from GET /v1/events', async () => {
    const page = await server.request('GET', '/v1/events?type=order.placed');
    expect(page.status).toBe(200);
    expect(page.body.events).toHaveLength(1);
    expect(page.body.events[0].data).toMatchObject({ orderId: 'o-secret', paymentToken: '[redacted]' });
    expect(page.text).not.toContain(TOKEN);
  });

  it('reads [redacted] from the dead letters', async () => {
    const letters = await server.request('GET', '/v1/subscriptions/refusing/dead-letters');
    expect(letters.body.deadLetters).toHaveLength(1);
    expect(letters.body.deadLetters[0].event.data.paymentToken).toBe('[redacted]');
    expect(letters.text).not.toContain(TOKEN);
  });

  it('reads [redacted] from flamingo tail', async () => {
    const result = await runCli(['tail', '--from', 'beginning', '--count', '1', '--json'], { env: { FLAMINGO_URL: server.url, FLAMINGO_KEY: server.adminKey } });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).data.paymentToken).toBe('[redacted]');
    expect(result.stdout).not.toContain(TOKEN);
  });

  it('reads [redacted] in a log line that carries the event', async () => {
    let written = '';
    const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => ((written += chunk.toString()), done()) });
    const [event] = await server.flamingo.bus.read({ types: ['order.placed'], limit: 1 });
    pino(loggerOptions('info'), sink).info({ event, events: [event] }, 'an event');
    expect(written).toContain('[redacted]');
    expect(written).not.toContain(TOKEN);
  });
});
