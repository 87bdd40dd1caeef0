/**
 * Kill -9 mid-saga: `flamingo start` runs the whole shop in a child process; an order is paid with
 * `tok_slow` and the process is killed while the sandbox is still settling the charge (a second
 * order is placed just before the kill). After a restart on the same data dir both orders go on
 * to their final state, nothing is lost, and the sandbox holds exactly one charge per order.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from './support/cli.ts';

const ADMIN_KEY = 'crash-test-admin-key-0123456789';

interface Process {
  readonly child: ChildProcess;
  readonly url: string;
  output(): string;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function start(dataDir: string, port: number): Promise<Process> {
  const child = spawn(process.execPath, [BIN, 'start'], {
    env: {
      PATH: process.env.PATH ?? '',
      FLAMINGO_DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      PORT: String(port),
      FLAMINGO_ADMIN_KEY: ADMIN_KEY,
      LOG_LEVEL: 'warn',
      FLAMINGO_SANDBOX_SLOW_MS: '3000',
      FLAMINGO_PAYMENT_TIMEOUT_MS: '120000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`flamingo did not start in time:\n${output}`)), 30_000);
    const check = () => {
      if (output.includes('flamingo listening on')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`flamingo exited with ${code}:\n${output}`));
    });
  });
  return { child, url: `http://127.0.0.1:${port}`, output: () => output };
}

async function killHard(process: Process): Promise<void> {
  const exited = new Promise((resolve) => process.child.once('exit', resolve));
  process.child.kill('SIGKILL');
  await exited;
}

describe('killing flamingo mid-saga', () => {
  let dataDir: string;
  let port: number;
  let running: Process | undefined;

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
  const call = async (method: string, route: string, body?: unknown, admin = true): Promise<{ status: number; body: any }> => {
    const headers: Record<string, string> = {};
    if (admin) headers.authorization = `Bearer ${ADMIN_KEY}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${running!.url}${route}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  const until = async <T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${running?.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const status = async (orderId: string, wanted: string) =>
    until(async () => ((await call('GET', `/v1/orders/${orderId}`)).body?.status === wanted ? true : undefined), `order ${orderId} ${wanted}`);

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'flamingo-crash-'));
    port = await freePort();
    running = await start(dataDir, port);
  });
  afterAll(async () => {
    if (running && running.child.exitCode === null) await killHard(running);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('loses no order and charges no payment twice', { timeout: 90_000 }, async () => {
    const product = await call('POST', '/v1/products', { sku: 'CRASH-1', name: 'Crash-tested mug', priceCents: 900, onHand: 10 });
    expect(product.status).toBe(201);
    const productId = product.body.id;
    const user = await call('POST', '/v1/users', { email: 'crash@example.com', name: 'Crash', password: 'a good password' }, false);
    expect(user.status).toBe(201);
    const userId = user.body.id;
    const place = (paymentToken: string, quantity: number) =>
      until(async () => {
        const answer = await call('POST', '/v1/orders', { userId, items: [{ productId, quantity }], paymentToken });
        return answer.status === 201 ? (answer.body.id as string) : undefined;
      }, 'an order to be accepted');

    const slow = await place('tok_slow', 2);
    // The sandbox is settling the slow charge (3 s): kill the process in the middle of it.
    await until(async () => {
      const charges = (await call('GET', `/v1/payments/sandbox/charges?idempotencyKey=order:${slow}`)).body.charges;
      return charges?.[0]?.status === 'processing' ? true : undefined;
    }, 'the slow charge to be processing');
    // Another order, placed right before the kill: its events may still be in the outbox.
    const quick = await place('tok_ok', 1);
    await killHard(running!);

    running = await start(dataDir, port);
    await status(slow, 'confirmed');
    await status(quick, 'confirmed');

    for (const orderId of [slow, quick]) {
      const charges = (await call('GET', `/v1/payments/sandbox/charges?idempotencyKey=order:${orderId}`)).body.charges;
      expect(charges).toHaveLength(1);
      expect(charges[0].status).toBe('succeeded');
      const payment = (await call('GET', `/v1/payments/${orderId}`)).body;
      expect(payment).toMatchObject({ status: 'succeeded', providerChargeId: charges[0].id });
      const events = (await call('GET', `/v1/events?subject=order/${orderId}&limit=100`)).body.events as { type: string }[];
      expect(events.filter((e) => e.type === 'payment.succeeded')).toHaveLength(1);
      expect(events.filter((e) => e.type === 'stock.reserved')).toHaveLength(1);
      expect(events.filter((e) => e.type === 'order.placed')).toHaveLength(1);
    }
    expect((await call('GET', `/v1/products/${productId}`)).body.onHand).toBe(7);
    // Everything the sandbox ever charged: one charge for each of the two orders, nothing else.
    const all = (await call('GET', '/v1/payments/sandbox/charges')).body.charges as { idempotencyKey: string }[];
    expect(all.map((c) => c.idempotencyKey).sort()).toEqual([`order:${slow}`, `order:${quick}`].sort());

    // And the saga goes on to its end: ship and deliver the slow order.
    const shipment = await until(async () => (await call('GET', `/v1/shipments?orderId=${slow}`)).body.shipments?.[0], 'the shipment');
    expect((await call('POST', `/v1/shipments/${shipment.id}/dispatch`, {})).status).toBe(200);
    expect((await call('POST', `/v1/shipments/${shipment.id}/deliver`)).status).toBe(200);
    await status(slow, 'completed');
  });
});
