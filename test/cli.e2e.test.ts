/**
 * The `flamingo` CLI against a running server: publish, tail, subscriptions, dead letters, keys;
 * and `catalog check` offline.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failPermanently, type Subscription } from '../src/bus/index.ts';
import { runCli } from './support/cli.ts';
import { startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
let refusing: Subscription;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'flamingo-cli-'));
/** Talks to the test server with the admin key. */
const cli = (args: string[], env: Record<string, string> = {}) => runCli([...args], { env: { FLAMINGO_URL: server.url, FLAMINGO_KEY: server.adminKey, ...env }, cwd: tmp });
/** A key of producer orders: order.placed is the orders service's, published only with such a key (issue 7). */
let ordersKey: string;
/** Talks to the test server as the orders producer. */
const asOrders = (args: string[]) => cli(args, { FLAMINGO_KEY: ordersKey });
const order = (orderId: string) => JSON.stringify({ orderId, userId: 'u-1', items: [{ productId: 'p-1', quantity: 1, unitPriceCents: 100 }], totalCents: 100, currency: 'EUR' });

beforeAll(async () => {
  server = await startTestServer();
  ordersKey = await server.producerKey('orders');
  refusing = await server.flamingo.bus.subscribe({ name: 'refusing', types: ['order.placed'], retry: { maxAttempts: 1 } }, async (event) => {
    if ((event.data as { orderId: string }).orderId.startsWith('bad')) throw failPermanently('refused by the test');
  });
});
afterAll(async () => {
  await refusing?.close();
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('flamingo publish', () => {
  it('publishes an event and prints its id and sequence', async () => {
    const result = await asOrders(['publish', 'order.placed', '--data', order('cli-1'), '--id', '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^published 0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b at sequence \d+/);
    const again = await asOrders(['publish', 'order.placed', '--data', order('cli-1'), '--id', '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b']);
    expect(again.stdout).toMatch(/^already stored 0190a1b2/);
  });

  it('exits 1 naming each problem the server found', async () => {
    const result = await asOrders(['publish', 'order.placed', '--data', JSON.stringify({ orderId: 'x' })]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^422 invalid_event: /);
    expect(result.stderr).toMatch(/\/data\/userId: /);
  });

  it('exits 2 for data that is not JSON, and 1 when no server answers', async () => {
    const bad = await cli(['publish', 'order.placed', '--data', '{nope']);
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringMatching(/--data must be JSON/)]);
    const nowhere = await cli(['publish', 'order.placed', '--data', order('x'), '--url', 'http://127.0.0.1:9']);
    expect([nowhere.code, nowhere.stderr]).toEqual([1, expect.stringMatching(/cannot reach Flamingo at http:\/\/127.0.0.1:9/)]);
  });
});

describe('flamingo keys', () => {
  it('creates, lists and revokes a producer key; the key publishes only its types', async () => {
    const created = await cli(['keys', 'create', '--types', 'cart.*', '--name', 'webshop', '--json']);
    expect(created.code).toBe(0);
    const key = JSON.parse(created.stdout) as { id: string; key: string };
    const list = await cli(['keys', 'list']);
    expect(list.stdout).toMatch(new RegExp(`${key.id}\\s+webshop\\s+flm_\\S+\\s+producer\\s+-\\s+cart\\.\\*`));

    const allowed = await cli(['publish', 'item_added_to_cart', '--data', '{"items":[1],"item":1}', '--key', key.key]);
    expect(allowed.code).toBe(0);
    const denied = await cli(['publish', 'order.placed', '--data', order('k'), '--key', key.key]);
    expect([denied.code, denied.stderr]).toEqual([1, expect.stringMatching(/^403 forbidden/)]);

    expect((await cli(['keys', 'revoke', key.id])).stdout).toMatch(/revoked key/);
    const revoked = await cli(['publish', 'item_added_to_cart', '--data', '{"items":[1],"item":1}', '--key', key.key]);
    expect([revoked.code, revoked.stderr]).toEqual([1, expect.stringMatching(/^401 unauthorized/)]);
  });

  it('prints the key once in plain form', async () => {
    const created = await cli(['keys', 'create', '--producer', 'orders']);
    expect(created.stdout.split('\n')[0]).toMatch(/for producer orders, types \*/);
    expect(created.stdout.split('\n')[1]).toMatch(/^flm_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toMatch(/not shown again/);
  });

  it('a type a service produces is published only with a key of that producer, not the admin key (issue 7)', async () => {
    const created = await cli(['keys', 'create', '--producer', 'orders', '--types', 'order.placed', '--json']);
    const key = JSON.parse(created.stdout) as { key: string; producer: string };
    expect(key.producer).toBe('orders');
    expect((await cli(['publish', 'order.placed', '--data', order('by-producer'), '--key', key.key])).code).toBe(0);
    const byAdmin = await cli(['publish', 'order.placed', '--data', order('by-admin')]);
    expect([byAdmin.code, byAdmin.stderr]).toEqual([1, expect.stringMatching(/^403 forbidden: order\.placed is produced by orders/)]);
    const ownedWithoutProducer = await cli(['keys', 'create', '--types', 'order.*']);
    expect([ownedWithoutProducer.code, ownedWithoutProducer.stderr]).toEqual([1, expect.stringMatching(/^400 invalid_request: types: order\.\* matches only types produced by orders/)]);
    const neither = await cli(['keys', 'create']);
    expect([neither.code, neither.stderr]).toEqual([2, expect.stringMatching(/give --producer/)]);
  });
});

describe('flamingo subscriptions and dead-letters', () => {
  it('lists subscriptions, lists dead letters, retries and discards them', async () => {
    await asOrders(['publish', 'order.placed', '--data', order('bad-1'), '--id', '0190a1b2-c3d4-7e5f-8a9b-000000000001']);
    await asOrders(['publish', 'order.placed', '--data', order('bad-2'), '--id', '0190a1b2-c3d4-7e5f-8a9b-000000000002']);
    for (let i = 0; i < 100; i += 1) {
      const { body } = await server.request('GET', '/v1/subscriptions');
      if (body.subscriptions.find((s: { name: string }) => s.name === 'refusing')?.deadLetters === 2) break;
      await sleep(50);
    }
    // The key from the data dir's admin.key file, as on the machine running the server.
    const subscriptions = await runCli(['subscriptions'], { env: { FLAMINGO_URL: server.url, FLAMINGO_DATA_DIR: server.dataDir } });
    expect(subscriptions.code).toBe(0);
    expect(subscriptions.stdout).toMatch(/^NAME\s+TYPES\s+POSITION\s+LAG\s+SCHEDULED\s+INFLIGHT\s+RETRYING\s+DEADLETTERS\s+CONSUMERS/);
    expect(subscriptions.stdout).toMatch(/refusing\s+order\.placed\s+\d+\s+0\s+0\s+0\s+0\s+2\s+1/);

    const list = await cli(['dead-letters', 'list', 'refusing']);
    expect(list.stdout).toMatch(/0190a1b2-c3d4-7e5f-8a9b-000000000001\s+\d+\s+order\.placed\s+1\s+\S+\s+PermanentFailure: refused by the test/);
    expect(list.stdout).toMatch(/000000000002/);

    const usage = await cli(['dead-letters', 'retry', 'refusing']);
    expect([usage.code, usage.stderr]).toEqual([2, expect.stringMatching(/give an event id, or --all/)]);
    const one = await cli(['dead-letters', 'retry', 'refusing', '0190a1b2-c3d4-7e5f-8a9b-000000000001']);
    expect(one.stdout).toMatch(/retried 1 dead letter of refusing/);
    const missing = await cli(['dead-letters', 'discard', 'refusing', '0190a1b2-c3d4-7e5f-8a9b-00000000ffff']);
    expect([missing.code, missing.stderr]).toEqual([1, expect.stringMatching(/^404 not_found/)]);
    const all = await cli(['dead-letters', 'discard', 'refusing', '--all']);
    expect(all.stdout).toMatch(/discarded [12] dead letters? of refusing/);
  });
});

describe('flamingo tail', () => {
  it('prints history from the beginning as JSON lines', async () => {
    const result = await cli(['tail', '--from', 'beginning', '--type', 'order.*', '--count', '2', '--json']);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; sequence: number });
    expect(lines).toHaveLength(2);
    expect(lines.every((e) => e.type === 'order.placed')).toBe(true);
  });

  it('follows new events from now', async () => {
    const tail = cli(['tail', '--count', '1', '--interval', '50']);
    await sleep(1500);
    await asOrders(['publish', 'order.placed', '--data', order('followed')]);
    const result = await tail;
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\d+\s+\S+\s+order\.placed\s+order\/followed\s+\S+$/m);
  });
});

describe('flamingo catalog check (offline)', () => {
  it('exits 0 against the current snapshot, 1 naming each breaking change', async () => {
    const current = path.join(tmp, 'current.json');
    expect((await runCli(['catalog', 'snapshot', '--out', current])).code).toBe(0);
    const ok = await runCli(['catalog', 'check', '--against', current]);
    expect([ok.code, ok.stdout]).toEqual([0, expect.stringMatching(/no breaking changes/)]);

    const snapshot = JSON.parse(readFileSync(current, 'utf8'));
    snapshot.types['order.teleported'] = { ...snapshot.types['order.placed'] };
    const cart = snapshot.types['cart.item_added'].schema;
    cart.properties.coupon = { type: 'string' };
    const older = path.join(tmp, 'older.json');
    writeFileSync(older, JSON.stringify(snapshot));
    const broken = await runCli(['catalog', 'check', '--against', older]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/BREAKING order\.teleported: .*removed/);
    // A field nobody declares reading may go (issue 14).
    expect(broken.stdout).toMatch(/ok +cart\.item_added \/coupon: .*read by no declared consumer/);
    expect(broken.stdout).toMatch(/1 breaking finding/);

    // A contract file that reads the field: the same change now breaks, naming the consumer.
    const contracts = path.join(tmp, 'contracts');
    mkdirSync(contracts, { recursive: true });
    writeFileSync(path.join(contracts, 'coupons.json'), JSON.stringify({ consumer: 'coupon-service', reads: [{ type: 'cart.item_added', version: 1, fields: ['coupon'] }] }));
    const read = await runCli(['catalog', 'check', '--against', older, '--contracts', contracts]);
    expect(read.code).toBe(1);
    expect(read.stderr).toMatch(/BREAKING coupon-service cart\.item_added v1 \/coupon: coupon-service reads cart\.item_added v1 \/coupon, which was removed or renamed \[field-removed\]/);
    writeFileSync(path.join(contracts, 'broken.json'), '{"consumer": "x"}');
    const invalid = await runCli(['catalog', 'check', '--contracts', contracts]);
    expect([invalid.code, invalid.stderr]).toEqual([2, expect.stringMatching(/broken\.json: \/reads/)]);
  });

  it('exits 2 for a file that is not a snapshot', async () => {
    const missing = await runCli(['catalog', 'check', '--against', path.join(tmp, 'nope.json')]);
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringMatching(/cannot read .*nope\.json: ENOENT/)]);
    const notSnapshot = path.join(tmp, 'not.json');
    writeFileSync(notSnapshot, '{"hello": 1}');
    expect((await runCli(['catalog', 'check', '--against', notSnapshot])).code).toBe(2);
  });
});

it('--help works on every command', async () => {
  for (const args of [['--help'], ['start', '--help'], ['dead-letters', 'discard', '--help'], ['keys', 'create', '--help']]) {
    const result = await runCli(args);
    expect(result.code, args.join(' ')).toBe(0);
    expect(result.stdout).toMatch(/^Usage: flamingo/);
  }
});
