/**
 * `flamingo simulate`: realistic shop traffic through the public HTTP API at a steady rate of
 * shopper visits, with a progress line, so anyone can watch the system work.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createBackOffice, FOLLOWED_TYPES } from './back-office.ts';
import { followLog } from './log-follower.ts';
import { randomIdOrSeed, type RunBasics } from './run.ts';
import { createProducts, signUp, type Customer } from './setup.ts';
import { createShopClient, type RequestCounts } from './shop-client.ts';
import { DEFAULT_MIX, visit, type ShopContext, type ShopperMix } from './shopper.ts';
import { emptyStats, percentile, progressLine, type SimulationStats } from './stats.ts';

export interface SimulateOptions extends RunBasics {
  /** Shopper visits started per second; most end in an order. (Default: 5) */
  readonly rate?: number;
  /** How long visits keep arriving. (Default: 60 000 ms) */
  readonly durationMs?: number;
  /** Products the run creates. (Default: 8) */
  readonly products?: number;
  /** Customers signed up before the first visit, so most visitors can come back. (Default: 5) */
  readonly customers?: number;
  /** Units each product starts with, and what a restock adds. (Default: 200) */
  readonly stock?: number;
  /** What shoppers do, as shares; the rest keep their defaults. */
  readonly mix?: Partial<ShopperMix>;
  /** After the last visit, how long to wait for orders to settle and parcels to arrive. (Default: 20 000 ms) */
  readonly drainMs?: number;
  /** Visits running at once before new ones are skipped. (Default: max(50, 20 × rate)) */
  readonly maxInFlight?: number;
  /** Where the progress line goes; `\r`-updated on a terminal, a line every 5 s otherwise. (Default: process.stderr) */
  readonly output?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Stops the run early (Ctrl-C). */
  readonly signal?: AbortSignal;
}

export interface SimulationReport {
  readonly stats: SimulationStats;
  readonly requests: RequestCounts;
  readonly elapsedMs: number;
  /** Orders confirmed per second over the whole run. */
  readonly confirmedPerSecond: number;
  readonly confirmLatencyMs: { readonly p50?: number; readonly p95?: number; readonly p99?: number };
}

export async function simulate(options: SimulateOptions = {}): Promise<SimulationReport> {
  const rate = options.rate ?? 5;
  const durationMs = options.durationMs ?? 60_000;
  const stock = options.stock ?? 200;
  const output = options.output ?? process.stderr;
  const { runId, random } = randomIdOrSeed(options);
  const client = createShopClient({ url: options.url ?? 'http://127.0.0.1:3000', adminKey: options.key });
  const stats = emptyStats();

  const products = await createProducts(client, runId, options.products ?? 8, stock, Math.max(1, Math.floor(stock / 10)));
  const ours = new Map<string, number>();
  const backOffice = createBackOffice({ client, stats, ours, productIds: new Set(products.map((p) => p.id)), restockUnits: stock, random });
  const follower = await followLog(client, { types: FOLLOWED_TYPES, onEvent: backOffice.onEvent });
  let customerNumber = 0;
  const customers: Customer[] = [];
  for (let i = 0; i < (options.customers ?? 5); i++) customers.push(await signUp(client, runId, ++customerNumber));
  const context: ShopContext = { client, stats, products, customers, runId, mix: { ...DEFAULT_MIX, ...options.mix }, ours, random, nextCustomer: () => ++customerNumber };

  const started = Date.now();
  let lastRequests = 0;
  let lastAt = started;
  let lastPrinted = 0;
  const show = (final = false) => {
    const now = Date.now();
    const perSecond = ((client.counts.requests - lastRequests) * 1000) / Math.max(1, now - lastAt);
    [lastRequests, lastAt] = [client.counts.requests, now];
    const line = progressLine(stats, client.counts, perSecond, (now - started) / 1000);
    if (output.isTTY) output.write(`\r${line}\x1b[K${final ? '\n' : ''}`);
    else if (final || now - lastPrinted >= 5000) {
      output.write(`${line}\n`);
      lastPrinted = now;
    }
  };
  const ticker = setInterval(show, 500);

  const inFlight = new Set<Promise<void>>();
  const maxInFlight = options.maxInFlight ?? Math.max(50, Math.ceil(rate * 20));
  let due = 0;
  try {
    while (!options.signal?.aborted && Date.now() - started < durationMs) {
      const owed = Math.floor(((Date.now() - started) / 1000) * rate) - due;
      for (let i = 0; i < owed; i++, due++) {
        if (inFlight.size >= maxInFlight) {
          stats.skipped++;
          continue;
        }
        const running = visit(context).finally(() => inFlight.delete(running));
        inFlight.add(running);
      }
      await sleep(Math.min(50, Math.max(1, 1000 / rate / 2)));
    }
    await Promise.all([...inFlight]);
    const drainUntil = Date.now() + (options.drainMs ?? 20_000);
    const settled = () =>
      stats.confirmed + stats.cancelled >= stats.placed && stats.completed >= stats.confirmed && backOffice.pending() === 0;
    while (!options.signal?.aborted && Date.now() < drainUntil && !settled()) await sleep(200);
    await follower.catchUp();
  } finally {
    clearInterval(ticker);
    await backOffice.stop();
    await follower.stop();
    show(true);
  }
  const elapsedMs = Date.now() - started;
  return {
    stats,
    requests: { ...client.counts },
    elapsedMs,
    confirmedPerSecond: (stats.confirmed * 1000) / elapsedMs,
    confirmLatencyMs: {
      p50: percentile(stats.confirmLatencies, 50),
      p95: percentile(stats.confirmLatencies, 95),
      p99: percentile(stats.confirmLatencies, 99),
    },
  };
}
