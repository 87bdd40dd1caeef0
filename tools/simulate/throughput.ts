/**
 * Orders per second end to end (placed → confirmed) at a steady rate: the benchmark's view of the
 * shop. Orders go straight to `POST /v1/orders` with `tok_ok` at `rate` per second for `durationMs`;
 * the event log says when each was confirmed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createBackOffice } from './back-office.ts';
import { followLog } from './log-follower.ts';
import { randomIdOrSeed, type RunBasics } from './run.ts';
import { createProducts, eventually, signUp, type Customer } from './setup.ts';
import { createShopClient } from './shop-client.ts';
import { emptyStats, percentile, recordError } from './stats.ts';

export interface ThroughputOptions extends RunBasics {
  /** Orders placed per second, steadily. */
  readonly rate: number;
  /** How long orders are placed. */
  readonly durationMs: number;
  /** Customers the orders are spread over. (Default: 10) */
  readonly customers?: number;
  /** After the last order, how long to wait for confirmations. (Default: 15 000 ms) */
  readonly settleMs?: number;
  /** Orders waiting for their HTTP answer before new ones are counted as skipped. (Default: max(100, 10 × rate)) */
  readonly maxInFlight?: number;
}

export interface ThroughputResult {
  /** The rate asked for. */
  readonly rate: number;
  readonly durationMs: number;
  /** Orders the API accepted. */
  readonly placed: number;
  /** Orders not sent because too many were waiting for an answer: the API could not keep up. */
  readonly skipped: number;
  readonly confirmed: number;
  readonly cancelled: number;
  /** Requests that failed (5xx, network, unexpected 4xx). */
  readonly errors: number;
  /** The last few failures, for the report. */
  readonly errorSamples: readonly string[];
  /**
   * Confirmed orders per second: confirmations over the time between the first and the last one
   * (server clock), so a constant latency does not count against it. Equals `rate` while the
   * system keeps up; lower when confirmations spread out because it falls behind.
   */
  readonly ordersPerSecond: number;
  /** placed → confirmed, from the log's recorded times. */
  readonly latencyMs: { readonly p50?: number; readonly p95?: number; readonly p99?: number; readonly max?: number };
}

export async function measureOrderThroughput(options: ThroughputOptions): Promise<ThroughputResult> {
  const { runId, random } = randomIdOrSeed(options);
  const client = createShopClient({ url: options.url ?? 'http://127.0.0.1:3000', adminKey: options.key });
  const stats = emptyStats();
  const products = await createProducts(client, runId, 4, 1_000_000_000, 0);
  const customers: Customer[] = [];
  const wanted = options.customers ?? 10;
  // Sign-ups hash passwords (CPU-heavy on the server): a few at a time.
  for (let n = 1; n <= wanted; n += 4) {
    customers.push(...(await Promise.all(Array.from({ length: Math.min(4, wanted - n + 1) }, (_, k) => signUp(client, runId, n + k)))));
  }
  const order = (i: number) => {
    const customer = customers[i % customers.length];
    const product = products[i % products.length];
    return client.placeOrder(customer.token, customer.userId, [{ productId: product.id, quantity: 1 }], 'tok_ok');
  };
  // The orders service learns customers and products from events: wait until it knows them all.
  for (let i = 0; i < Math.max(customers.length, products.length); i++) await eventually(() => order(i), { attempts: 100, delayMs: 100 });

  const ours = new Map<string, number>();
  const confirmedAt: number[] = [];
  const backOffice = createBackOffice({ client, stats, ours, productIds: new Set(), restockUnits: 0, random, act: false });
  const follower = await followLog(client, {
    types: ['order.placed', 'order.confirmed', 'order.cancelled'],
    intervalMs: 50,
    onEvent: (event) => {
      backOffice.onEvent(event);
      if (!ours.has(String(event.data.orderId))) return;
      if (event.type === 'order.confirmed') confirmedAt.push(Date.parse(event.recordedtime));
    },
  });

  const inFlight = new Set<Promise<void>>();
  const maxInFlight = options.maxInFlight ?? Math.max(100, Math.ceil(options.rate * 10));
  const started = Date.now();
  let sent = 0;
  try {
    while (Date.now() - started < options.durationMs) {
      const owed = Math.floor(((Date.now() - started) / 1000) * options.rate) - sent;
      for (let k = 0; k < owed; k++, sent++) {
        if (inFlight.size >= maxInFlight) {
          stats.skipped++;
          continue;
        }
        const running = order(sent)
          .then((placed) => {
            ours.set(placed.id, Date.now());
            stats.placed++;
          })
          .catch((error: unknown) => recordError(stats, error))
          .finally(() => inFlight.delete(running));
        inFlight.add(running);
      }
      await sleep(Math.min(20, Math.max(1, 1000 / options.rate / 2)));
    }
    await Promise.all([...inFlight]);
    const settleUntil = Date.now() + (options.settleMs ?? 15_000);
    while (Date.now() < settleUntil && stats.confirmed + stats.cancelled < stats.placed) await sleep(50);
    await follower.catchUp();
  } finally {
    await follower.stop();
    await backOffice.stop();
  }
  const first = confirmedAt.reduce((a, b) => Math.min(a, b), Infinity);
  const last = confirmedAt.reduce((a, b) => Math.max(a, b), -Infinity);
  const windowMs = confirmedAt.length > 1 ? Math.max(1, last - first) : 0;
  const latencies = stats.confirmLatencies;
  return {
    rate: options.rate,
    durationMs: options.durationMs,
    placed: stats.placed,
    skipped: stats.skipped,
    confirmed: stats.confirmed,
    cancelled: stats.cancelled,
    errors: stats.errors,
    errorSamples: [...stats.lastErrors],
    ordersPerSecond: windowMs === 0 ? 0 : ((confirmedAt.length - 1) * 1000) / windowMs,
    latencyMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99), max: percentile(latencies, 100) },
  };
}
