/**
 * Two processes each running the whole shop on one NATS JetStream stream and one PostgreSQL
 * database: both serve the HTTP API, both relay the services' outboxes (one at a time per schema),
 * and both handle every subscription's events (competing consumers). Orders placed on either are
 * carried through the saga once: one `order.placed` each, one charge per paid order, the stock
 * reserved and released once. Then one process is killed with SIGKILL while charges are settling:
 * the survivor carries every order to confirmed, charging each once.
 */
import { expect, it } from 'vitest';
import { adminApi, labelled, query, showOutputOnFailure, startFlamingoProcess, useScaleOutRun, waitFor, type AdminApi } from './support/scale-out.ts';

const ADMIN_KEY = 'scale-out-shop-admin-key-0123456789';
const TOKEN_SECRET = 'scale-out-shop-token-secret-0123456789abcdef';
const ORDERS = 12;

const scaleOut = useScaleOutRun();
const { processes } = scaleOut;
let a: AdminApi;
let b: AdminApi;
let productId: string;
let userId: string;
let token: string;


/** Places an order on the process at `url` once its orders replica knows the customer and the product. */
const place = (url: string, paymentToken: string) =>
  waitFor(
    async () => {
      const response = await fetch(`${url}/v1/orders`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ userId, items: [{ productId, quantity: 2 }], paymentToken }),
      });
      if (response.status === 422) return undefined;
      if (response.status !== 201) throw new Error(`POST ${url}/v1/orders answered ${response.status}: ${await response.text()}`);
      return ((await response.json()) as { id: string }).id;
    },
    () => `the orders replica of ${url} to know the customer and the product`,
    20_000,
    50,
  );

/** The order once its status is one of `statuses`, read from `api`. */
const settledOn = (api: AdminApi, orderId: string, statuses: readonly string[], timeoutMs: number) =>
  waitFor(
    async () => {
      const body = (await api.call('GET', `/v1/orders/${orderId}`)).body;
      return statuses.includes(body?.status) ? (body as { status: string; cancellation?: { reason: string } }) : undefined;
    },
    () => `order ${orderId} to be ${statuses.join(' or ')}`,
    timeoutMs,
    100,
  );

it('two whole-shop processes share the saga: every order placed on either is settled once', { timeout: 90_000 }, async () => {
  showOutputOnFailure(processes);
  const databaseUrl = scaleOut.run.databaseUrl!;
  const env = (name: string) => ({
    ...scaleOut.run.env,
    DATABASE_URL: labelled(databaseUrl, name),
    FLAMINGO_ADMIN_KEY: ADMIN_KEY,
    FLAMINGO_TOKEN_SECRET: TOKEN_SECRET,
    // tok_ok pays at once; tok_slow settles this much later (the kill below falls in between).
    FLAMINGO_SANDBOX_SLOW_MS: '2000',
    LOG_LEVEL: 'warn',
  });
  processes.push(...(await Promise.all(['shop-a', 'shop-b'].map((name) => startFlamingoProcess(name, ['start'], env(name))))));
  [a, b] = processes.map((p) => adminApi(p.url, ADMIN_KEY));
  // Which process handled a saga event: its inbox row takes the writer's application_name.
  await query(databaseUrl, `ALTER TABLE orders.flamingo_inbox ADD COLUMN handled_by text DEFAULT current_setting('application_name')`);
  // And which process began a charge.
  await query(databaseUrl, `ALTER TABLE payments.payments ADD COLUMN begun_by text DEFAULT current_setting('application_name')`);

  const product = await a.call('POST', '/v1/products', { sku: 'BEANS-1KG', name: 'Coffee beans 1 kg', priceCents: 1250, onHand: 100 });
  expect(product.status).toBe(201);
  productId = product.body.id as string;
  const user = await b.call('POST', '/v1/users', { email: 'two@example.com', name: 'Shopper', password: 'a good password' });
  expect(user.status).toBe(201);
  userId = user.body.id as string;
  // The same address on the other process: one users database, one account.
  expect((await a.call('POST', '/v1/users', { email: 'two@example.com', name: 'Again', password: 'a good password' })).status).toBe(409);
  token = (await a.call('POST', '/v1/auth/login', { email: 'two@example.com', password: 'a good password' })).body.token as string;

  const tokens = Array.from({ length: ORDERS }, (_, i) => (i % 3 === 2 ? 'tok_declined' : 'tok_ok'));
  const orderIds = await Promise.all(tokens.map((paymentToken, i) => place(processes[i % 2].url, paymentToken)));

  // Every order settles, read from either process.
  const settled = await Promise.all(orderIds.map((orderId, i) => settledOn(i % 2 === 0 ? b : a, orderId, ['confirmed', 'cancelled'], 30_000)));
  expect(settled.map((o) => o.status)).toEqual(tokens.map((t) => (t === 'tok_ok' ? 'confirmed' : 'cancelled')));
  expect(settled.filter((o) => o.status === 'cancelled').map((o) => o.cancellation?.reason)).toEqual(tokens.filter((t) => t !== 'tok_ok').map(() => 'payment_failed'));

  // One charge per order at the provider (declined or not); the declined ones' stock released once.
  for (const [i, orderId] of orderIds.entries()) {
    const charges = await a.call('GET', `/v1/payments/sandbox/charges?idempotencyKey=order:${orderId}`);
    expect(charges.body.charges.map((c: { status: string }) => c.status)).toEqual([tokens[i] === 'tok_ok' ? 'succeeded' : 'failed']);
  }
  const paid = tokens.filter((t) => t === 'tok_ok').length;
  await waitFor(async () => ((await b.call('GET', `/v1/products/${productId}`)).body.onHand === 100 - 2 * paid ? true : undefined), () => 'the stock to add up', 20_000);

  // One order.placed per order on the bus (both relays read the orders outbox), nothing left unsent.
  const log = await a.log();
  const placed = log.filter((e) => e.type === 'order.placed');
  expect(placed.map((e) => e.subject).sort()).toEqual(orderIds.map((id) => `order/${id}`).sort());
  const unsent = await query<{ n: string }>(databaseUrl, 'SELECT count(*) AS n FROM orders.flamingo_outbox WHERE sent_at IS NULL');
  expect(Number(unsent[0].n)).toBe(0);

  // Both processes handled saga events.
  const byProcess = await query<{ handled_by: string; n: string }>(databaseUrl, `SELECT handled_by, count(*) AS n FROM orders.flamingo_inbox WHERE subscription = 'orders.saga' GROUP BY handled_by ORDER BY handled_by`);
  expect(byProcess.map((r) => r.handled_by)).toEqual(['shop-a', 'shop-b']);
  console.log(`scale-out shop: ${ORDERS} orders over two processes; orders.saga events handled ${byProcess.map((r) => `${r.n} by ${r.handled_by}`).join(', ')}`);
});

it('SIGKILL of one process while charges settle: the survivor confirms every order, each charged once', { timeout: 90_000 }, async () => {
  showOutputOnFailure(processes);
  const [survivor, victim] = processes;
  const orderIds: string[] = [];
  const begunBy = async () =>
    (await query<{ begun_by: string }>(scaleOut.run.databaseUrl!, 'SELECT begun_by FROM payments.payments WHERE order_id = ANY($1)', [orderIds])).map((r) => r.begun_by);
  // Orders paid with tok_slow (processing for 2 s) until the victim is charging one of them (it
  // leases part of the partitions), then the kill.
  await waitFor(
    async () => {
      if ((await begunBy()).includes(victim.name)) return true;
      orderIds.push(...(await Promise.all([0, 1].map((i) => place(processes[i].url, 'tok_slow')))));
      return undefined;
    },
    () => `${victim.name} to begin a charge`,
    20_000,
    50,
  );
  victim.child.kill('SIGKILL');
  const killedAt = Date.now();
  expect(await victim.exited).toBe('SIGKILL');

  const settled = await Promise.all(orderIds.map((orderId) => settledOn(a, orderId, ['confirmed', 'cancelled'], 60_000)));
  expect(settled.map((o) => o.status)).toEqual(orderIds.map(() => 'confirmed'));
  const confirmedMs = Date.now() - killedAt;
  const log = await a.log();
  for (const orderId of orderIds) {
    const charges = await a.call('GET', `/v1/payments/sandbox/charges?idempotencyKey=order:${orderId}`);
    expect(charges.body.charges.map((c: { status: string }) => c.status)).toEqual(['succeeded']);
    expect(log.filter((e) => e.type === 'payment.succeeded' && e.subject === `order/${orderId}`)).toHaveLength(1);
  }
  const victims = (await begunBy()).filter((name) => name === victim.name).length;
  console.log(`scale-out shop: ${orderIds.length} orders (${victims} charges begun by ${victim.name}) confirmed by ${survivor.name} ${confirmedMs} ms after ${victim.name} was killed mid-charge`);
});
