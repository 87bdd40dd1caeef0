import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { v7 as uuidv7 } from 'uuid';
import { startServiceServer, waitUntil, type ServiceServer } from '../../../test/support/service-server.ts';
import { uniqueName } from '../../../test/support/service-databases.ts';
import { runCli } from '../../../test/support/cli.ts';
import { deliveryService } from './index.ts';
import { startShopifyTarget, type ReceivedRequest, type ShopifyTarget, type ShopifyTargetOptions } from './testing/shopify-target.ts';

/** Delivery against the Shopify-like target, on the embedded engine. */
describe('delivery to a rate-limited target', () => {
  let server: ServiceServer;
  let shop: ShopifyTarget | undefined;
  const carts = Array.from({ length: 8 }, () => uuidv7());

  beforeAll(async () => {
    server = await startServiceServer('sqlite', [deliveryService({ databaseName: uniqueName('delivery') })], { FLAMINGO_DELIVERY_BREAKER_RESET_MS: '1000' });
  });
  afterAll(() => server.stop());
  afterEach(async () => {
    await shop?.close();
    shop = undefined;
  });

  const target = async (options: ShopifyTargetOptions, body: Record<string, unknown> = {}) => {
    // The target shares this process's event loop with the server: a request already on its way
    // may be read late. The attempt log says exactly when each was sent (sentDuringPause).
    shop = await startShopifyTarget({ graceMs: 500, ...options });
    const added = await server.request('POST', '/v1/targets', { body: { url: `${shop.url}/admin/api/events.json`, types: ['cart.*'], ...body } });
    expect(added.status, added.text).toBe(201);
    return added.body as { id: string; secret: string; subscription: string };
  };
  const publish = async (count: number) => {
    const ids: string[] = [];
    for (let i = 0; i < count; i += 1) {
      const { id } = await server.flamingo.bus.publish({ type: 'cart.item_added', data: { cartId: carts[i % carts.length], items: [i], item: i } });
      ids.push(id);
    }
    return ids;
  };
  const allDelivered = (ids: readonly string[], timeoutMs: number) =>
    waitUntil(async () => (ids.every((id) => shop!.delivered.has(id)) ? true : undefined), timeoutMs, `${ids.length} deliveries (have ${shop!.delivered.size})`);
  const verify = (secret: string, request: ReceivedRequest) =>
    new Webhook(secret).verify(request.body, request.headers as Record<string, string>) as { id: string; type: string };

  /**
   * From the attempt log, exactly: no request to the target started after a throttled reply came
   * back and before the time it gave (`Retry-After`, or the GraphQL restore time) was up.
   */
  const sentDuringPause = async (targetId: string) => {
    const all = (await server.request('GET', `/v1/targets/${targetId}/attempts?limit=1000`)).body.attempts as {
      startedAt: string;
      durationMs: number;
      outcome: string;
      responseHeaders: Record<string, string> | null;
      responseBody: string | null;
    }[];
    const violations: string[] = [];
    for (const throttled of all.filter((a) => a.outcome === 'throttled')) {
      const received = Date.parse(throttled.startedAt) + throttled.durationMs;
      const retryAfter = throttled.responseHeaders?.['retry-after'];
      const status = retryAfter === undefined ? (JSON.parse(throttled.responseBody ?? '{}').extensions?.cost?.throttleStatus as { currentlyAvailable: number; restoreRate: number } | undefined) : undefined;
      const until = retryAfter !== undefined ? received + Number(retryAfter) * 1000 : status ? received + ((1 - status.currentlyAvailable) / status.restoreRate) * 1000 : received;
      for (const other of all) {
        const started = Date.parse(other.startedAt);
        // Whole milliseconds in the log: 2 ms of rounding either way.
        if (started > received + 2 && started < until - 2) violations.push(`${other.startedAt} within ${throttled.startedAt}'s pause until ${new Date(until).toISOString()}`);
      }
    }
    return violations;
  };

  it('refuses bad targets naming the field, and needs the admin key', async () => {
    const good = { url: 'https://shop.example/hooks', types: ['order.placed'] };
    expect((await server.request('POST', '/v1/targets', { key: null, body: good })).status).toBe(401);
    const cases: [unknown, string][] = [
      [{ ...good, url: 'ftp://shop.example/' }, '/url'],
      [{ ...good, url: 'https://user:pw@shop.example/' }, '/url'],
      [{ ...good, types: ['no.such_type'] }, '/types/0'],
      [{ ...good, types: ['BAD TYPE'] }, '/types/0'],
      [{ ...good, headers: { 'webhook-id': 'x' } }, '/headers/webhook-id'],
      [{ ...good, secret: 'not-a-secret' }, '/secret'],
      [{ ...good, rateLimit: { limit: 0 } }, '/body/rateLimit/limit'],
      [{ ...good, timeoutMs: 10 }, '/body/timeoutMs'],
      [{ ...good, ordering: 'random' }, '/body/ordering'],
    ];
    for (const [body, path] of cases) {
      const response = await server.request('POST', '/v1/targets', { body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.detail.map((d: { path: string }) => d.path).join(' '), JSON.stringify(body)).toContain(path);
    }
    expect((await server.request('GET', '/v1/targets')).body.targets).toEqual([]);
  });

  it('pushes every event, never overflowing the bucket nor coming back before Retry-After, through failures', async () => {
    // The limiter is set twice as fast as the target really is: the target's 429s must slow it down.
    const { id, secret } = await target(
      { bucketSize: 40, leakPerSecond: 20, serverErrorRatio: 0.05, dropRatio: 0.03, slowRatio: 0.02, slowMs: 1_500 },
      { rateLimit: { limit: 40, burst: 40 }, timeoutMs: 1_000, maxInFlight: 8, retry: { initialDelayMs: 50, maxDelayMs: 500 } },
    );
    const ids = await publish(150);
    await allDelivered(ids, 60_000);
    const stats = shop!.stats();
    expect(stats.maxFill).toBeLessThanOrEqual(40);
    expect(stats.throttled).toBeGreaterThan(0);
    expect(stats.early).toBe(0);
    expect(await sentDuringPause(id)).toEqual([]);
    expect(stats.serverErrors + stats.dropped + stats.slow).toBeGreaterThan(0);
    // Every request is signed for the event it carries, by a verifier this project did not write.
    for (const request of shop!.requests) expect(verify(secret, request).id).toBe(request.headers['webhook-id']);

    const throttled = await server.request('GET', `/v1/targets/${id}/attempts?outcome=throttled&limit=1000`);
    expect(throttled.body.attempts.length).toBe(stats.throttled);
    expect(throttled.body.attempts[0]).toMatchObject({ status: 429, outcome: 'throttled', responseHeaders: { 'retry-after': expect.any(String) } });
    const retried = await server.request('GET', `/v1/targets/${id}/attempts?outcome=retrying&limit=1000`);
    expect(retried.body.attempts.length).toBeGreaterThan(0);
    const one = retried.body.attempts[0];
    const history = (await server.request('GET', `/v1/targets/${id}/attempts?eventId=${one.eventId}`)).body.attempts;
    expect(history.map((a: { outcome: string }) => a.outcome)).toContain('delivered');
    // Throttling did not use up attempts: nothing reached the dead letters.
    expect((await server.flamingo.bus.deadLetters(`delivery.${id}`)).length).toBe(0);
  }, 90_000);

  it('within its limit the target sees no 429 and events arrive in key order', async () => {
    const { id } = await target({ bucketSize: 40, leakPerSecond: 50 }, { rateLimit: { limit: 40, burst: 20 }, maxInFlight: 8 });
    const ids = await publish(120);
    await allDelivered(ids, 30_000);
    expect(shop!.stats()).toMatchObject({ throttled: 0, early: 0 });
    const byCart = new Map<string, number[]>();
    for (const request of shop!.requests) {
      const event = JSON.parse(request.body) as { data: { cartId: string; item: number }; id: string; specversion: string };
      expect(event.specversion).toBe('1.0');
      byCart.set(event.data.cartId, [...(byCart.get(event.data.cartId) ?? []), event.data.item]);
    }
    for (const items of byCart.values()) expect(items).toEqual([...items].sort((a, b) => a - b));
    const shown = (await server.request('GET', `/v1/targets/${id}`)).body;
    expect(shown).toMatchObject({ status: 'active', circuit: { state: 'closed' }, subscription: `delivery.${id}` });
  }, 60_000);

  it('learns from a GraphQL target that throttles in the body, and its pace and bucket from every reply', async () => {
    // The limiter is told 40/s with a burst of 40 (and 40 in flight); the target restores 20 a second into a bucket of 30.
    // The events wait in the log first, so the first burst goes at once, before any reply.
    const from = (await server.flamingo.bus.engine.head()) + 1;
    const ids = await publish(100);
    const { id } = await target({ bucketSize: 30, leakPerSecond: 20, variant: 'graphql' }, { rateLimit: { limit: 40, burst: 40 }, maxInFlight: 40, ordering: 'none', startAt: { sequence: from } });
    await allDelivered(ids, 60_000);
    const stats = shop!.stats();
    // The first burst overflows; what the replies say slows the rest down.
    expect(stats.throttled).toBeGreaterThan(0);
    expect(stats.throttled).toBeLessThan(40);
    expect(stats).toMatchObject({ early: 0 });
    expect(await sentDuringPause(id)).toEqual([]);
    expect(stats.maxFill).toBeLessThanOrEqual(30);
    const throttled = (await server.request('GET', `/v1/targets/${id}/attempts?outcome=throttled`)).body.attempts;
    expect(throttled[0]).toMatchObject({ status: 200, error: 'THROTTLED' });
    expect((await server.request('GET', `/v1/targets/${id}`)).body.limiter).toMatchObject({ learnedRatePerSecond: 20, learnedBucketSize: 30 });
  }, 90_000);

  it('signs with both secrets during a rotation, then with the new one alone', async () => {
    const { id, secret: old } = await target({ leakPerSecond: 100 }, { rateLimit: { limit: 100 } });
    await allDelivered(await publish(3), 10_000);
    const rotated = await server.request('POST', `/v1/targets/${id}/rotate-secret`, { body: { graceSeconds: 4 } });
    expect(rotated.status, rotated.text).toBe(200);
    const fresh = rotated.body.secret as string;
    expect(fresh).not.toBe(old);
    expect((await server.request('GET', `/v1/targets/${id}`)).body.signing).toMatchObject({ secrets: 2, rotationEndsAt: rotated.body.previousExpiresAt });
    const during = await publish(3);
    await allDelivered(during, 10_000);
    for (const request of shop!.requests.filter((r) => during.includes(String(r.headers['webhook-id'])))) {
      expect(verify(old, request)).toBeTruthy();
      expect(verify(fresh, request)).toBeTruthy();
    }
    // Past the grace period: the old secret signs no more.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(rotated.body.previousExpiresAt) - Date.now()) + 100));
    const after = await publish(3);
    await allDelivered(after, 10_000);
    for (const request of shop!.requests.filter((r) => after.includes(String(r.headers['webhook-id'])))) {
      expect(verify(fresh, request)).toBeTruthy();
      expect(() => verify(old, request)).toThrow();
    }
  }, 30_000);

  it('fails a 4xx into dead letters at once, disables the target on 410, and pauses and resumes', async () => {
    const { id, subscription } = await target({ leakPerSecond: 100, successStatus: 422 }, { rateLimit: { limit: 100 } });
    const [bad] = await publish(1);
    const dead = await waitUntil(async () => (await server.flamingo.bus.deadLetters(subscription)).find((d) => d.event.id === bad) ?? undefined, 10_000, 'dead letter');
    expect(dead).toMatchObject({ attempts: 1 });
    expect((await server.request('GET', `/v1/targets/${id}/attempts?eventId=${bad}`)).body.attempts).toMatchObject([{ status: 422, outcome: 'failed', attempt: 1 }]);
    // The target's dead letters are its subscription's: retried like any other.
    shop!.configure({ successStatus: 200 });
    expect((await server.request('POST', `/v1/subscriptions/${subscription}/dead-letters/${bad}/retry`)).status).toBe(200);
    await allDelivered([bad!], 10_000);

    shop!.configure({ successStatus: 410 });
    await publish(1);
    await waitUntil(async () => ((await server.request('GET', `/v1/targets/${id}`)).body.status === 'disabled' ? true : undefined), 10_000, 'disabled');
    const before = shop!.requests.length;
    const waiting = await publish(2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(shop!.requests.length).toBe(before);

    shop!.configure({ successStatus: 200 });
    expect((await server.request('POST', `/v1/targets/${id}/resume`)).body.status).toBe('active');
    await allDelivered(waiting, 10_000);
    expect((await server.request('POST', `/v1/targets/${id}/pause`)).body.status).toBe('paused');
    const held = await publish(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(shop!.delivered.has(held[0]!)).toBe(false);
    await server.request('POST', `/v1/targets/${id}/resume`);
    await allDelivered(held, 10_000);
    expect((await server.request('DELETE', `/v1/targets/${id}`)).status).toBe(204);
    expect((await server.request('GET', `/v1/targets/${id}`)).status).toBe(404);
  }, 60_000);

  it('opens the circuit of a target that keeps failing, shows it, and closes it after a good probe', async () => {
    const { id } = await target({ leakPerSecond: 100, serverErrorRatio: 1 }, { rateLimit: { limit: 100 }, maxInFlight: 4, retry: { initialDelayMs: 20, maxDelayMs: 50, maxAttempts: 100 } });
    const ids = await publish(12);
    await waitUntil(async () => ((await server.request('GET', `/v1/targets/${id}`)).body.circuit.state === 'open' ? true : undefined), 10_000, 'open circuit');
    const metrics = (await server.request('GET', '/metrics', { key: null })).text;
    expect(metrics).toContain(`flamingo_delivery_circuit_state{target="${id}",state="open"} 1`);
    expect(metrics).toMatch(new RegExp(`flamingo_delivery_attempts_total\\{target="${id}",outcome="retrying"\\} [1-9]`));
    expect(metrics).toContain(`flamingo_delivery_rate_limit_per_second{target="${id}"} 100`);
    // Open: nothing goes to the target until the probe (FLAMINGO_DELIVERY_BREAKER_RESET_MS = 1000).
    const sent = shop!.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(shop!.requests.length - sent).toBeLessThanOrEqual(1);
    shop!.configure({ serverErrorRatio: 0 });
    await allDelivered(ids, 15_000);
    await waitUntil(async () => ((await server.request('GET', `/v1/targets/${id}`)).body.circuit.state === 'closed' ? true : undefined), 5_000, 'closed circuit');
  }, 30_000);

  it('carries the event\'s trace and, in binary mode, its attributes as ce- headers', async () => {
    const { secret } = await target({ leakPerSecond: 100 }, { rateLimit: { limit: 100 }, contentMode: 'binary' });
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const { id } = await server.flamingo.bus.publish({ type: 'cart.item_added', data: { cartId: carts[0], items: [7], item: 7 }, traceparent });
    await allDelivered([id], 10_000);
    const request = shop!.requests.find((r) => r.headers['webhook-id'] === id)!;
    expect(request.headers).toMatchObject({ traceparent, 'ce-id': id, 'ce-type': 'cart.item_added', 'ce-specversion': '1.0', 'content-type': 'application/json' });
    expect(JSON.parse(request.body)).toEqual({ cartId: carts[0], items: [7], item: 7 });
    expect(verify(secret, request)).toEqual({ cartId: carts[0], items: [7], item: 7 });
  }, 30_000);

  it('a change of types or in-flight resubscribes the target where it was', async () => {
    const { id } = await target({ leakPerSecond: 100 }, { rateLimit: { limit: 100 }, types: ['cart.item_added'] });
    await allDelivered(await publish(2), 10_000);
    const patched = await server.request('PATCH', `/v1/targets/${id}`, { body: { types: ['cart.item_removed'], maxInFlight: 2, timeoutMs: 2_000 } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body).toMatchObject({ types: ['cart.item_removed'], maxInFlight: 2, timeoutMs: 2_000 });
    const added = await publish(1);
    const { id: removed } = await server.flamingo.bus.publish({ type: 'cart.item_removed', data: { cartId: carts[0], items: [], item: 1 } });
    await allDelivered([removed], 10_000);
    expect(shop!.delivered.has(added[0]!)).toBe(false);
    expect((await server.request('PATCH', `/v1/targets/${id}`, { body: { url: 'gopher://x' } })).status).toBe(400);
    expect((await server.request('PATCH', `/v1/targets/${id}`, { body: {} })).status).toBe(400);
  }, 30_000);

  it('is run from the CLI: add, list, show, pause, resume, attempts, remove', async () => {
    shop = await startShopifyTarget({ leakPerSecond: 100 });
    const cli = (...args: string[]) => runCli(['targets', ...args], { env: { FLAMINGO_URL: server.url, FLAMINGO_KEY: server.adminKey } });
    const bad = await cli('add', shop.url, '--types', 'cart.*', '--rate', 'fast');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--rate');
    const added = await cli('add', shop.url, '--types', 'cart.*', '--rate', '50/s', '--burst', '5', '--header', 'X-Shopify-Access-Token: shpat_x', '--json');
    expect(added.code, added.stderr).toBe(0);
    const target = JSON.parse(added.stdout) as { id: string; secret: string; rateLimit: unknown; headers: unknown };
    expect(target).toMatchObject({ rateLimit: { limit: 50, intervalMs: 1000, burst: 5 }, headers: { 'X-Shopify-Access-Token': '[redacted]' } });
    expect(target.secret).toMatch(/^whsec_/);
    expect((await cli('list')).stdout).toContain(target.id);
    expect((await cli('pause', target.id)).stdout).toContain('paused');
    expect((await cli('resume', target.id)).stdout).toContain('active');
    const ids = await publish(2);
    await allDelivered(ids, 10_000);
    expect(shop.requests[0]!.headers['x-shopify-access-token']).toBe('shpat_x');
    const attempts = await cli('attempts', target.id, '--outcome', 'delivered');
    expect(attempts.stdout).toContain(ids[0]);
    expect(JSON.parse((await cli('show', target.id)).stdout)).toMatchObject({ id: target.id, status: 'active' });
    expect((await cli('remove', target.id)).code).toBe(0);
    expect((await cli('show', target.id)).code).toBe(1);
  }, 60_000);
});
