/**
 * Slow and flooding clients (issue 7, item 6), with real sockets: a slow body or slow headers are
 * cut after their timeout (set short here), an idle keep-alive connection is closed, a connection
 * past the limit is refused, and the keyless and login routes answer 429 with `Retry-After` past
 * their per-client rate limit — storing nothing.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { usersService } from '../src/services/users/index.ts';
import { startTestServer, type TestServer } from './support/server.ts';

let server: TestServer | undefined;
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await server?.stop();
  server = undefined;
});

/** What happened on a connection: the bytes answered and when it closed (ms after it opened). */
interface Outcome {
  readonly answer: string;
  readonly closedAfterMs: number | undefined;
}

/** Opens a connection, writes `bytes`, and reports what came back once it closed or `waitMs` passed. */
async function connectAndWrite(port: number, bytes: string, waitMs: number): Promise<Outcome> {
  const socket = net.connect(port, '127.0.0.1');
  sockets.push(socket);
  const opened = Date.now();
  let answer = '';
  let closedAfterMs: number | undefined;
  socket.on('data', (chunk) => (answer += chunk.toString('utf8')));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) =>
    socket.on('close', () => {
      closedAfterMs = Date.now() - opened;
      resolve();
    }),
  );
  await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
  socket.write(bytes);
  await Promise.race([closed, sleep(waitMs)]);
  return { answer, closedAfterMs };
}

const statusOf = (answer: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);
const bodyOf = (answer: string) => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));

describe('timeouts', () => {
  it('cuts a request whose body arrives too slowly: 408 and the connection closed after the request timeout', async () => {
    server = await startTestServer({ FLAMINGO_HTTP_HEADERS_TIMEOUT_MS: '400', FLAMINGO_HTTP_REQUEST_TIMEOUT_MS: '1000' });
    const stored = await server.eventCount();
    const head = `POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${server.adminKey}\r\nContent-Type: application/cloudevents+json\r\nContent-Length: 200\r\n\r\n`;
    const outcome = await connectAndWrite(server.flamingo.port, `${head}{"specversion":"1.0",`, 5_000);
    expect(outcome.closedAfterMs, 'the connection was still open after 5 s').toBeDefined();
    expect(outcome.closedAfterMs).toBeGreaterThanOrEqual(900);
    expect(outcome.closedAfterMs).toBeLessThan(2_500);
    expect(statusOf(outcome.answer)).toBe(408);
    expect(bodyOf(outcome.answer)).toEqual({ error: 'request_timeout', message: expect.any(String) });
    expect(await server.eventCount()).toBe(stored);
  });

  it('cuts a request whose headers arrive too slowly after the headers timeout', async () => {
    server = await startTestServer({ FLAMINGO_HTTP_HEADERS_TIMEOUT_MS: '500', FLAMINGO_HTTP_REQUEST_TIMEOUT_MS: '5000' });
    const outcome = await connectAndWrite(server.flamingo.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ', 4_000);
    expect(outcome.closedAfterMs, 'the connection was still open after 4 s').toBeDefined();
    expect(outcome.closedAfterMs).toBeGreaterThanOrEqual(400);
    expect(outcome.closedAfterMs).toBeLessThan(2_000);
    expect(statusOf(outcome.answer)).toBe(408);
  });

  it('closes a keep-alive connection left idle past the keep-alive timeout', async () => {
    server = await startTestServer({ FLAMINGO_HTTP_KEEP_ALIVE_TIMEOUT_MS: '300' });
    const outcome = await connectAndWrite(server.flamingo.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 4_000);
    expect(statusOf(outcome.answer)).toBe(200);
    expect(outcome.closedAfterMs, 'the idle connection was still open after 4 s').toBeDefined();
    expect(outcome.closedAfterMs).toBeLessThan(2_000);
  });
});

describe('connection limit', () => {
  it('closes a connection past FLAMINGO_HTTP_MAX_CONNECTIONS at once, and accepts one again when a connection ends', async () => {
    server = await startTestServer({ FLAMINGO_HTTP_MAX_CONNECTIONS: '3' });
    const port = server.flamingo.port;
    // Three connections held open mid-request, the way the 5 000 were.
    const held = await Promise.all([1, 2, 3].map(() => connectAndWrite(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n', 200)));
    expect(held.map((h) => h.closedAfterMs)).toEqual([undefined, undefined, undefined]);
    const extra = await connectAndWrite(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 2_000);
    expect(extra).toEqual({ answer: '', closedAfterMs: expect.any(Number) });
    expect(extra.closedAfterMs).toBeLessThan(1_000);
    sockets[0].destroy();
    await sleep(100);
    const again = await connectAndWrite(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 2_000);
    expect(statusOf(again.answer)).toBe(200);
  });
});

describe('per-client rate limits', () => {
  const seed = (n: number) => ({
    event_id: `5f0c9a35-7c5e-4a8b-9d6f-1a2b3c4d5e${String(n).padStart(2, '0')}`,
    event: { event_name: 'item_added_to_cart', event_time: '2022-07-17T09:59:59', items: [n], item: n },
  });

  it('answers 429 with Retry-After past FLAMINGO_RATE_LIMIT_KEYLESS requests to POST /event, storing nothing', async () => {
    server = await startTestServer({ FLAMINGO_RATE_LIMIT_KEYLESS: '2', FLAMINGO_RATE_LIMIT_WINDOW_MS: '60000' });
    for (const n of [1, 2]) expect((await server.request('POST', '/event', { key: null, body: seed(n) })).status).toBe(201);
    const stored = await server.eventCount();
    const limited = await server.request('POST', '/event', { key: null, body: seed(3) });
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ error: 'rate_limited', message: expect.stringMatching(/too many requests to POST \/event/) });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(await server.eventCount()).toBe(stored);
    // Other routes are not limited.
    expect((await server.request('POST', '/v1/events', { body: { specversion: '1.0', id: 'not-limited-1', source: '/test', type: 'cart.item_added', data: { items: [1], item: 1 } }, contentType: 'application/cloudevents+json' })).status).toBe(202);
  });

  it('answers 429 with Retry-After past FLAMINGO_RATE_LIMIT_LOGIN sign-in attempts, right password or not', async () => {
    // A window far longer than the test, so a slow machine cannot see it end between attempts.
    server = await startTestServer({ FLAMINGO_RATE_LIMIT_LOGIN: '3', FLAMINGO_RATE_LIMIT_WINDOW_MS: '600000', FLAMINGO_TOKEN_SECRET: 'a-test-token-secret-of-at-least-32-bytes' }, { registry: [usersService()] });
    const password = 'a long enough password';
    expect((await server.request('POST', '/v1/users', { key: null, body: { email: 'ada@example.com', name: 'Ada', password } })).status).toBe(201);
    const login = (guess: string) => server!.request('POST', '/v1/auth/login', { key: null, body: { email: 'ada@example.com', password: guess } });
    expect((await login('wrong guess 1')).status).toBe(401);
    expect((await login('wrong guess 2')).status).toBe(401);
    expect((await login(password)).status).toBe(200);
    const limited = await login(password);
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ error: 'rate_limited', message: expect.stringMatching(/POST \/v1\/auth\/login/) });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(600);
    // Registration is not the login route: not limited.
    expect((await server.request('POST', '/v1/users', { key: null, body: { email: 'eve@example.com', name: 'Eve', password } })).status).toBe(201);
  });
});
