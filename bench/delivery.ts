/**
 * Section: delivery to a rate-limited target. A Shopify-like target on loopback, in a worker thread
 * of its own (bench/target-worker.ts: arrivals timed on a loop delivery does not block; leaky bucket of
 * 40 leaking R per second, 429 + Retry-After when over) and the delivery service's parts in this
 * process (its SQLite database in the run's dir, the bus on the engine under test).
 * - Backlog: `backlog` events published first, then one target limited to R requests/s is added
 *   from the beginning. Figures: the achieved rate as a ratio of R (ceiling: R itself), the most
 *   requests in any 10 s window as a ratio of 10·R, and 429s as a share of requests.
 * - Latency: events published at half of R to a target that keeps up; publish → request arrives at
 *   the target, p50/p99. Ceiling: a plain undici POST to the same target at the same rate.
 */
import { Agent, request } from 'undici';
import pino from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { openDatabase, migrate } from '../src/platform/db.ts';
import { deliveryMigrations } from '../src/services/delivery/index.ts';
import type { Kysely } from 'kysely';
import { attemptLog } from '../src/services/delivery/attempts.ts';
import { relaxDurability } from '../src/services/delivery/durability.ts';
import { startDispatcher } from '../src/services/delivery/dispatcher.ts';
import { createLimiter } from '../src/services/delivery/limiter.ts';
import { generateSecret } from '../src/services/delivery/signing.ts';
import type { DeliveryDatabase } from '../src/services/delivery/store.ts';
import { targetStore } from '../src/services/delivery/targets.ts';
import { startWorkerTarget, type WorkerTarget } from './target-worker.ts';
import type { Figure } from './report.ts';
import { cpuMeter, nowMs, paced, percentiles, sleep } from './stats.ts';
import type { Target } from './targets.ts';

export interface DeliverySectionOptions {
  /** Events in the backlog. */
  readonly backlog: number;
  /** The target's limit R, requests per second. */
  readonly rate: number;
  /** How long the latency run publishes (at R / 2). */
  readonly latencyMs: number;
  /** Events (the backlog's last) pushed to a target whose limit the limiter overestimates twice. */
  readonly learning: number;
  readonly dir: string;
}

const cartEvent = (i: number, carts: readonly string[]) => ({ type: 'cart.item_added' as const, data: { cartId: carts[i % carts.length]!, items: [i], item: i } });

/** Most requests whose arrival falls in any window [t, t + windowMs). */
function densest(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i += 1) {
    while (sorted[i]! - sorted[j]! >= windowMs) j += 1;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

export async function deliverySection(target: Target, options: DeliverySectionOptions): Promise<Figure[]> {
  const R = options.rate;
  const opened = await target.open('delivery');
  const database = await openDatabase<DeliveryDatabase>('delivery_bench', { dataDir: options.dir });
  await migrate(database.db, deliveryMigrations);
  await relaxDurability(database.db as Kysely<unknown>, database.dialect);
  const targets = targetStore(database.db);
  const dispatcher = startDispatcher({
    bus: opened.bus,
    targets,
    limiter: createLimiter(database.db, database.dialect),
    attempts: attemptLog(database.db),
    logger: pino({ level: 'silent' }),
    refreshMs: 1_000,
    breakerResetMs: 30_000,
    deliver: true,
  });
  const shops: WorkerTarget[] = [];
  /** Absolute ms, comparable with the target thread's arrival instants. */
  const clock = () => performance.timeOrigin + performance.now();
  const carts = Array.from({ length: 64 }, () => uuidv7());
  try {
    // Backlog.
    for (let i = 0; i < options.backlog; i += 500) {
      await opened.bus.publishAll(Array.from({ length: Math.min(500, options.backlog - i) }, (_, k) => cartEvent(i + k, carts)));
    }
    const shop = await startWorkerTarget({ bucketSize: 40, leakPerSecond: R });
    shops.push(shop);
    // Burst 1: pure pacing at R, so no 10 s window can exceed 10·R; the target's bucket absorbs arrival jitter.
    await targets.create({ url: shop.url, types: ['cart.item_added'], rateLimit: { limit: R, intervalMs: 1_000, burst: 1 }, maxInFlight: 16, startAt: 'beginning', secret: generateSecret() });
    const cpu = cpuMeter();
    await dispatcher.refresh();
    const deadline = Date.now() + (options.backlog / R) * 1000 * 2 + 10_000;
    let deliveredCount = 0;
    while ((deliveredCount = await shop.delivered()) < options.backlog && Date.now() < deadline) await sleep(100);
    const cpuPerEventUs = cpu() / Math.max(1, deliveredCount);
    const { stats, arrivals } = await shop.report();
    const times = arrivals.map((r) => r.at);
    const accepted = arrivals.filter((r) => r.answer !== 'throttled').map((r) => r.at);
    const spanS = (Math.max(...accepted) - Math.min(...accepted)) / 1000;
    // n requests paced at R take n slots of 1/R: the first starts the span, the last ends one slot later.
    const achieved = accepted.length / (spanS + 1 / R);
    const windowMs = Math.min(10_000, Math.max(...times) - Math.min(...times));
    const windowMost = densest(times, windowMs);
    const missing = options.backlog - deliveredCount;

    // Learning: the limiter told twice the target's limit, with the target's bucket as its burst;
    // the target's 429s (Retry-After) and call-limit header are all it has to go by.
    for (const t of await targets.list()) await targets.setStatus(t.id, 'paused', 'bench');
    const learner = await startWorkerTarget({ bucketSize: 40, leakPerSecond: R });
    shops.push(learner);
    await targets.create({
      url: learner.url,
      types: ['cart.item_added'],
      rateLimit: { limit: 2 * R, intervalMs: 1_000, burst: 40 },
      maxInFlight: 16,
      startAt: { sequence: Math.max(1, options.backlog - options.learning + 1) },
      secret: generateSecret(),
    });
    await dispatcher.refresh();
    const learnDeadline = Date.now() + (options.learning / R) * 1000 * 3 + 10_000;
    let learnedCount = 0;
    while ((learnedCount = await learner.delivered()) < Math.min(options.learning, options.backlog) && Date.now() < learnDeadline) await sleep(100);
    const { stats: learned, arrivals: learnerArrivals } = await learner.report();
    const learnedAccepted = learnerArrivals.filter((r) => r.answer !== 'throttled').map((r) => r.at);
    const learnedRate = learnedAccepted.length / ((Math.max(...learnedAccepted) - Math.min(...learnedAccepted)) / 1000 + 1 / R);

    // Latency under the limit.
    for (const t of await targets.list()) await targets.setStatus(t.id, 'paused', 'bench');
    await dispatcher.refresh();
    const fast = await startWorkerTarget({ bucketSize: 40, leakPerSecond: R });
    shops.push(fast);
    await targets.create({ url: fast.url, types: ['cart.item_added'], rateLimit: { limit: R, intervalMs: 1_000, burst: 40 }, maxInFlight: 16, startAt: 'now', secret: generateSecret() });
    await dispatcher.refresh();
    const sentAt = new Map<string, number>();
    const rate = Math.max(1, Math.floor(R / 2));
    const pacing = await paced(rate, options.latencyMs, (i) => {
      const id = uuidv7();
      sentAt.set(id, clock());
      void opened.bus.publish({ id, ...cartEvent(i, carts) });
    });
    for (const until = Date.now() + 10_000; (await fast.delivered()) < pacing.sent && Date.now() < until; ) await sleep(50);
    const latencies = (await fast.report()).arrivals.filter((r) => r.answer === 200).map((r) => r.at - (sentAt.get(r.id ?? '') ?? NaN)).filter((v) => Number.isFinite(v));
    const delivery = percentiles(latencies);

    // Ceiling: the same target answering plain undici POSTs at the same rate.
    const agent = new Agent({ keepAliveTimeout: 10_000 });
    const raw: number[] = [];
    const body = JSON.stringify({ specversion: '1.0', id: uuidv7(), source: '/bench', type: 'cart.item_added', data: cartEvent(0, carts).data });
    const inFlight: Promise<void>[] = [];
    await paced(rate, options.latencyMs, () => {
      const start = nowMs();
      inFlight.push(
        request(`${fast.url}/raw`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'webhook-id': uuidv7() }, dispatcher: agent })
          .then((r) => r.body.dump())
          .then(() => void raw.push(nowMs() - start)),
      );
    });
    await Promise.allSettled(inFlight);
    await agent.close();
    const ceiling = percentiles(raw);

    const backlogNote = `${options.backlog} events, target bucket 40 leaking ${R}/s; ${stats.requests} requests, ${stats.throttled} answered 429, fullest bucket ${stats.maxFill.toFixed(1)}/40; ${Math.round(cpuPerEventUs)} µs CPU per delivery (this process, target included)${missing > 0 ? `; ${missing} NOT delivered` : ''}`;
    const latencyNote = `${latencies.length} events at ${rate}/s (R/2); publish → request arrives at the target`;
    return [
      { section: 'delivery', name: `achieved rate, backlog → target limited to ${R}/s`, unit: 'req/s', value: achieved, ceiling: R, ceilingName: 'the target\'s limit R', goals: [{ kind: 'ratioAtLeast', value: 0.95 }, { kind: 'ratioAtMost', value: 1 }], note: backlogNote },
      { section: 'delivery', name: `most requests in any ${(windowMs / 1000).toFixed(0)} s window`, unit: 'req', value: windowMost, ceiling: (R * windowMs) / 1000, ceilingName: `R × ${(windowMs / 1000).toFixed(0)} s`, goals: [{ kind: 'ratioAtMost', value: 1 }] },
      { section: 'delivery', name: '429s as a share of requests', unit: '%', value: (stats.throttled / Math.max(1, stats.requests)) * 100, goals: [{ kind: 'atMost', value: 1 }] },
      {
        section: 'delivery',
        name: 'limiter told 2R: achieved rate',
        unit: 'req/s',
        value: learnedRate,
        ceiling: R,
        ceilingName: "the target's limit R",
        note: `${learnedCount} events; the limiter knows only what the target's 429s (Retry-After) and X-Shopify-Shop-Api-Call-Limit tell it; ${learned.requests} requests, fullest bucket ${learned.maxFill.toFixed(1)}/40, ${learned.early} before a Retry-After expired`,
      },
      { section: 'delivery', name: 'limiter told 2R: 429s as a share of requests', unit: '%', value: (learned.throttled / Math.max(1, learned.requests)) * 100 },
      { section: 'delivery', name: `publish→target p50 at ${rate}/s`, unit: 'ms', value: delivery.p50, ceiling: ceiling.p50, ceilingName: 'plain undici POST' },
      { section: 'delivery', name: `publish→target p99 at ${rate}/s`, unit: 'ms', value: delivery.p99, ceiling: ceiling.p99, ceilingName: 'plain undici POST', note: latencyNote },
    ];
  } finally {
    await dispatcher.stop();
    await database.close();
    await opened.close();
    for (const shop of shops) await shop.close();
  }
}
