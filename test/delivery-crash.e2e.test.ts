/**
 * Delivery survives SIGKILL mid-backlog: a backlog of events bound for a Shopify-like target (a
 * leaky bucket of 40 leaking 20 per second) is being pushed when the delivering process is killed
 * and restarted, twice. On the embedded default one process restarts on its data dir; on NATS +
 * PostgreSQL two processes share the work and the limiter, and each is killed once. Afterwards
 * every event reached the target, the bucket never overflowed, no request came before a
 * Retry-After expired, and 429s stayed rare: the processes together kept under the limit, a
 * restart did not burst.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, describe, expect, it } from 'vitest';
import { startShopifyTarget, type ShopifyTarget } from '../src/services/delivery/testing/shopify-target.ts';
import { adminApi, showOutputOnFailure, startFlamingoProcess, stopProcesses, type FlamingoProcess } from './support/scale-out.ts';
import { SCALE_OUT, type Stack, type StackRun } from './support/stacks.ts';

const ADMIN_KEY = 'delivery-crash-admin-key-0123456789';
const EVENTS = 400;
const embedded: Stack = { name: 'embedded', provision: async () => ({ stack: 'embedded', env: {}, cleanup: async () => undefined }) };

describe.each([
  [embedded, 1],
  [SCALE_OUT, 2],
] as const)('delivery across SIGKILL on %s', (stack, processCount) => {
  let run: StackRun | undefined;
  let shop: ShopifyTarget | undefined;
  const processes: FlamingoProcess[] = [];
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'flamingo-delivery-crash-'));
  afterAll(async () => {
    await stopProcesses(processes);
    await shop?.close();
    await run?.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(`pushes every event of a backlog, ${processCount === 1 ? 'one process' : 'two processes'} killed twice, under the target's limit`, { timeout: 180_000 }, async () => {
    run = await stack.provision();
    // A request read up to 500 ms after a 429 may have been on its way already (a busy machine).
    shop = await startShopifyTarget({ bucketSize: 40, leakPerSecond: 20, graceMs: 500 });
    const env = {
      ...run.env,
      FLAMINGO_ADMIN_KEY: ADMIN_KEY,
      FLAMINGO_SERVICES: 'delivery',
      FLAMINGO_DELIVERY_REFRESH_MS: '200',
      LOG_LEVEL: 'warn',
      // The embedded engine's log and the delivery database live in the data dir: a restart keeps them.
      ...(processCount === 1 ? { FLAMINGO_DATA_DIR: dataDir } : {}),
    };
    const start = async (name: string) => {
      const started = await startFlamingoProcess(name, ['start'], env);
      processes.push(started);
      return started;
    };
    const live = [await start('a')];
    if (processCount === 2) live.push(await start('b'));
    showOutputOnFailure(processes);
    const api = adminApi(live[0]!.url, ADMIN_KEY);

    const added = await api.call('POST', '/v1/targets', {
      url: `${shop.url}/admin/api/2026-01/events.json`,
      types: ['cart.item_added'],
      // Under the target's size: room for arrival jitter on a busy machine.
      rateLimit: { limit: 20, burst: 30 },
      maxInFlight: 4,
      retry: { initialDelayMs: 100, maxDelayMs: 1_000 },
    });
    expect(added.status, added.text).toBe(201);
    const subscription = added.body.subscription as string;

    const carts = Array.from({ length: 20 }, () => uuidv7());
    const ids: string[] = [];
    for (let batch = 0; batch < 4; batch += 1) {
      const events = Array.from({ length: EVENTS / 4 }, (_, i) => ({
        specversion: '1.0',
        id: uuidv7(),
        source: '/delivery-crash-test',
        type: 'cart.item_added',
        data: { cartId: carts[i % carts.length], items: [i], item: i },
      }));
      const response = await fetch(`${live[0]!.url}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/cloudevents-batch+json' },
        body: JSON.stringify(events),
      });
      expect(response.status, await response.clone().text()).toBe(202);
      ids.push(...events.map((e) => e.id));
    }

    const delivered = () => ids.filter((id) => shop!.delivered.has(id)).length;
    const waitFor = async (count: number, timeoutMs: number) => {
      for (const until = Date.now() + timeoutMs; delivered() < count; await sleep(50)) {
        if (Date.now() > until) throw new Error(`only ${delivered()} of ${count} delivered after ${timeoutMs} ms; target ${JSON.stringify(shop!.stats())}`);
      }
    };
    if (processCount === 2) {
      // Both processes take part: each has the target's subscription attached.
      for (const p of live) {
        const view = await waitUntilAttached(p.url, subscription);
        expect(view.consumers).toBeGreaterThanOrEqual(1);
      }
    }

    for (const [kill, after] of [
      [0, 100],
      [processCount - 1, 250],
    ] as const) {
      await waitFor(after, 60_000);
      const victim = live[kill]!;
      victim.child.kill('SIGKILL');
      await victim.exited;
      live[kill] = await start(`${victim.name}-restarted`);
    }
    await waitFor(EVENTS, 90_000);

    const stats = shop.stats();
    expect(ids.every((id) => shop!.delivered.has(id))).toBe(true);
    expect(stats.maxFill).toBeLessThanOrEqual(40);
    expect(stats.early).toBe(0);
    // Together, and across restarts, the processes kept under the limit: 429s stay rare.
    expect(stats.throttled / stats.requests).toBeLessThanOrEqual(0.02);
  });
});

async function waitUntilAttached(url: string, subscription: string) {
  const api = adminApi(url, ADMIN_KEY);
  for (const until = Date.now() + 10_000; ; await sleep(100)) {
    const view = await api.subscription(subscription);
    if (view && view.consumers > 0) return view;
    if (Date.now() > until) throw new Error(`${url} never attached ${subscription}: ${JSON.stringify(view)}`);
  }
}
