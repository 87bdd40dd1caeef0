/**
 * `flamingo start --services …` chooses where reactions and workers run, not which routes answer:
 * process A runs the orders service's, process B every other service's, on one NATS JetStream stream
 * and one PostgreSQL database (the warehouse on it too). Both serve the whole HTTP API behind one
 * address; the order saga runs across both through the bus: an order placed through A is reserved,
 * charged and shipped by B's reactions and completes, its shipment dispatched through A's routes of
 * a service whose workers run on B; a declined payment cancels it and B releases the stock.
 */
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { adminApi, labelled, shared, showOutputOnFailure, startFlamingoProcess, useScaleOutRun, waitFor, type AdminApi } from './support/scale-out.ts';

const ADMIN_KEY = 'scale-out-split-admin-key-0123456789';
const TOKEN_SECRET = 'scale-out-split-token-secret-0123456789abcdef';
/** Every service but orders: process B's `--services`. */
const REST = ['users', 'catalog', 'carts', 'payments', 'fulfillment', 'reviews', 'delivery', 'notifications', 'hub', 'warehouse'];

interface OpenApi {
  paths: Record<string, Record<string, unknown>>;
}

/** `METHOD /path` of every route in a process's OpenAPI document. */
const routesOf = (doc: OpenApi) => Object.entries(doc.paths).flatMap(([route, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${route}`));

/** The status of `GET url` once its head arrived (a stream's body is not read), and the body of a short answer. */
async function head(url: string, bearer: string): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${bearer}` }, signal: AbortSignal.timeout(10_000) });
  const streaming = response.headers.get('content-type')?.startsWith('text/event-stream') ?? false;
  if (streaming) {
    await response.body?.cancel();
    return { status: response.status, text: '' };
  }
  return { status: response.status, text: await response.text() };
}

describe('the shop split over two processes (--services)', () => {
  const scaleOut = useScaleOutRun();
  const { processes } = scaleOut;
  /** A: orders' reactions and workers */
  let front: AdminApi;
  /** B: every other service's */
  let back: AdminApi;
  let productId: string;
  let userId: string;
  let token: string;

  const onHand = async () => (await front.call('GET', `/v1/products/${productId}`)).body.onHand as number;
  const orderStatus = async (orderId: string, status: string) => {
    let last = '';
    return waitFor(
      async () => {
        const answer = await front.call('GET', `/v1/orders/${orderId}`);
        last = answer.text;
        return answer.body?.status === status ? answer.body : undefined;
      },
      () => `order ${orderId} to be ${status}; last seen ${last}`,
      20_000,
      50,
    );
  };
  /** Places an order on the front process once its replica knows the product (from the other process). */
  const place = async (quantity: number, paymentToken: string): Promise<string> => {
    const placed = await waitFor(
      async () => {
        const response = await fetch(`${frontUrl()}/v1/orders`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ userId, items: [{ productId, quantity }], paymentToken }),
        });
        return response.status === 422 ? undefined : { status: response.status, body: (await response.json()) as { id: string } };
      },
      () => 'the orders replica to know the customer and the product',
      20_000,
      50,
    );
    expect(placed.status).toBe(201);
    return placed.body.id;
  };
  const frontUrl = () => processes[0].url;

  beforeAll(async () => {
    const run = scaleOut.run;
    const env = (name: string) => ({
      ...run.env,
      DATABASE_URL: labelled(run.databaseUrl!, name),
      FLAMINGO_ADMIN_KEY: ADMIN_KEY,
      FLAMINGO_TOKEN_SECRET: TOKEN_SECRET,
      FLAMINGO_SANDBOX_SLOW_MS: '200',
      FLAMINGO_WAREHOUSE_URL: run.databaseUrl!,
      FLAMINGO_WAREHOUSE_PSEUDONYM_KEY: 'scale-out-split-pseudonym-key-0123456789',
      LOG_LEVEL: 'warn',
    });
    const started = await Promise.all([
      startFlamingoProcess('front', ['start', '--services', 'orders'], env('front')),
      startFlamingoProcess('back', ['start', '--services', REST.join(',')], env('back')),
    ]);
    processes.push(...started);
    front = adminApi(started[0].url, ADMIN_KEY);
    back = adminApi(started[1].url, ADMIN_KEY);

    // Through the process that does not run the catalog's workers, and the user through the other.
    const product = await front.call('POST', '/v1/products', { sku: 'BEANS-1KG', name: 'Coffee beans 1 kg', priceCents: 1250, onHand: 5 });
    expect(product.status).toBe(201);
    productId = product.body.id;
    const user = await back.call('POST', '/v1/users', { email: 'split@example.com', name: 'Shopper', password: 'a good password' });
    expect(user.status).toBe(201);
    userId = user.body.id;
    token = (await back.call('POST', '/v1/auth/login', { email: 'split@example.com', password: 'a good password' })).body.token;
  }, 60_000);
  beforeEach(() => showOutputOnFailure(processes));

  it('each process serves every route of every service, and says which workers it runs', async () => {
    const [docA, docB] = await Promise.all([front.call('GET', '/docs/json'), back.call('GET', '/docs/json')]);
    const routes = routesOf(docA.body as OpenApi);
    expect(routesOf(docB.body as OpenApi).sort()).toEqual([...routes].sort());
    for (const route of ['GET /v1/users/{id}', 'POST /v1/orders', 'GET /v1/products/{id}', 'GET /v1/payments/{orderId}', 'POST /v1/shipments/{id}/dispatch', 'GET /v1/targets', 'GET /v1/me/orders', 'POST /v1/warehouse/query', 'GET /v1/events']) {
      expect(routes).toContain(route);
    }
    // Every GET route answers the same on both: none is the router's "no route", no state differs.
    const gets = routes.filter((r) => r.startsWith('GET /v1/')).map((r) => r.slice(4).replace(/\{[^}]+\}/g, 'no-such-id'));
    expect(gets.length).toBeGreaterThan(20);
    for (const route of gets) {
      const [a, b] = await Promise.all([head(`${processes[0].url}${route}`, ADMIN_KEY), head(`${processes[1].url}${route}`, ADMIN_KEY)]);
      expect(a.text, `GET ${route} on A`).not.toContain('"no route ');
      expect(b.text, `GET ${route} on B`).not.toContain('"no route ');
      expect(a.status, `GET ${route}: A answered ${a.status} ${a.text.slice(0, 200)}, B ${b.status} ${b.text.slice(0, 200)}`).toBe(b.status);
    }
    // State written through one is read through the other.
    expect((await back.call('GET', `/v1/products/${productId}`)).status).toBe(200);
    expect((await front.call('GET', `/v1/users/${userId}`)).body).toMatchObject({ id: userId, email: 'split@example.com' });
    expect((await front.call('POST', '/v1/warehouse/query', { sql: 'SELECT 1 AS one' })).body.rows).toEqual([{ one: 1 }]);
    expect(processes[0].output()).toContain('services: orders\nAPI: every service');
    expect(processes[1].output()).toContain(`services: ${REST.join(', ')}\nAPI: every service`);
  });

  it('an order placed through A is reserved, charged and shipped by reactions on B, and completes', async () => {
    const orderId = await place(2, 'tok_ok');
    await orderStatus(orderId, 'confirmed');
    expect(await onHand()).toBe(3);
    expect((await front.call('GET', `/v1/payments/${orderId}`)).body).toMatchObject({ status: 'succeeded', amountCents: 2500 });

    const shipment = await waitFor(
      async () => (await front.call('GET', `/v1/shipments?orderId=${orderId}`)).body?.shipments?.[0] as { id: string } | undefined,
      () => 'the shipment of the confirmed order',
      20_000,
      50,
    );
    // Fulfillment's routes on A: the event is relayed from A's outbox or B's, and reacted to by A's saga.
    expect((await front.call('POST', `/v1/shipments/${shipment.id}/dispatch`, { carrier: 'PostNL' })).status).toBe(200);
    await orderStatus(orderId, 'shipped');
    expect((await front.call('POST', `/v1/shipments/${shipment.id}/deliver`)).status).toBe(200);
    const completed = await orderStatus(orderId, 'completed');
    expect(completed.history.map((h: { status: string }) => h.status)).toEqual(['pending', 'stock_reserved', 'paid', 'confirmed', 'shipped', 'delivered', 'completed']);
    // The customer's hub (B's reactions) answers on A as on B.
    for (const url of [processes[0].url, processes[1].url]) {
      await waitFor(
        async () => {
          const response = await fetch(`${url}/v1/me/orders`, { headers: { authorization: `Bearer ${token}` } });
          const body = (await response.json()) as { orders?: { orderId?: string; id?: string; status: string }[] };
          return body.orders?.some((o) => (o.orderId ?? o.id) === orderId && o.status === 'completed') ? true : undefined;
        },
        () => `the hub on ${url} to show the order completed`,
        20_000,
        100,
      );
    }
  });

  it('a declined payment on the other process cancels the order, and the other releases the stock', async () => {
    const orderId = await place(2, 'tok_declined');
    const cancelled = await orderStatus(orderId, 'cancelled');
    expect(cancelled.cancellation).toEqual({ reason: 'payment_failed', detail: 'insufficient funds' });
    await waitFor(async () => ((await onHand()) === 3 ? true : undefined), () => 'the stock to be released', 20_000, 50);
  });

  it('either process reports every subscription of the shop with the same position', async () => {
    const names = async (api: AdminApi) => ((await api.call('GET', '/v1/subscriptions')).body.subscriptions as { name: string; position: number; lag: number }[]).map((s) => s.name).sort();
    const [fromFront, fromBack] = await Promise.all([names(front), names(back)]);
    expect(fromFront).toEqual(fromBack);
    expect(fromFront).toEqual(expect.arrayContaining(['orders.saga', 'payments.charges']));
    // Both report the same: a subscription's state lives on the server, not in a process. (The
    // payment timeout holds its events until they are due, so its lag stays above 0.)
    for (const name of fromFront) {
      let seen = '';
      const settled = await waitFor(
        async () => {
          const [x, y] = await Promise.all([front.subscription(name), back.subscription(name)]);
          seen = JSON.stringify([x, y]);
          // `details` (the warehouse's landed rows) come from the landing, in the process running it.
          const same = (v: typeof x) => JSON.stringify({ ...shared(v), details: undefined });
          return x && y && same(x) === same(y) ? { x, y } : undefined;
        },
        () => `${name} to read the same on both: ${seen}`,
        20_000,
        100,
      );
      // Consumers are counted across processes, the same on both. A service's handlers are attached
      // only where its reactions run (orders' on A, the others' on B): one consumer; the platform's
      // own (the customer revocations) run everywhere: two.
      await waitFor(
        async () => {
          const [x, y] = await Promise.all([front.subscription(name), back.subscription(name)]);
          const want = name.startsWith('flamingo.') ? 2 : 1;
          return x?.consumers === want && y?.consumers === want ? true : undefined;
        },
        () => `${name}: consumers counted across both processes`,
        10_000,
        100,
      );
      if (name !== 'orders.payment-timeout') expect(settled.x).toMatchObject({ deadLetters: 0, retrying: 0 });
    }
  });
});
