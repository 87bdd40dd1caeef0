/**
 * Issue 11's bar: after the shop simulator has run for a minute, the warehouse's `events` holds
 * exactly the log's event ids, and its `orders` and `daily_sales` agree with what the shop's own
 * APIs say (`GET /v1/orders/:id`, `GET /v1/payments/:orderId`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startShop, type Shop } from './support/shop.ts';
import { simulate } from '../tools/simulate/index.ts';
import { cartsService } from '../src/services/carts/index.ts';
import { catalogService } from '../src/services/catalog/index.ts';
import { fulfillmentService } from '../src/services/fulfillment/index.ts';
import { reviewsService } from '../src/services/reviews/index.ts';
import { warehouseService } from '../src/services/warehouse/index.ts';

const day = (iso: string) => new Date(iso).toISOString().slice(0, 10);

describe('the warehouse after a minute of simulated shopping', () => {
  let shop: Shop;
  beforeAll(async () => {
    shop = await startShop({ others: [catalogService(), cartsService(), fulfillmentService(), reviewsService(), warehouseService()], env: {
        FLAMINGO_SANDBOX_SLOW_MS: '300',
        // A minute of shoppers signing in from one address passes the sign-in limit (it has its own test).
        FLAMINGO_RATE_LIMIT_LOGIN: '0',
      },
    });
  });
  afterAll(() => shop.stop());

  const sql = async (query: string) => {
    const answer = await shop.request('POST', '/v1/warehouse/query', { body: { sql: query } });
    if (answer.status !== 200) throw new Error(`query answered ${answer.status}: ${answer.text}`);
    return answer.body.rows as Record<string, unknown>[];
  };

  it('holds exactly the log, and its orders and daily sales agree with the shop', { timeout: 240_000 }, async () => {
    const durationMs = Number(process.env.WAREHOUSE_SIMULATION_MS ?? 60_000);
    const report = await simulate({
      url: shop.url,
      key: shop.adminKey,
      rate: 3,
      durationMs,
      drainMs: 20_000,
      seed: 11,
      products: 4,
      mix: { declined: 0.2, slow: 0.1, review: 0.4, spam: 0.3 },
      output: { isTTY: false, write: () => true } as unknown as NodeJS.WritableStream,
    });
    expect(report.stats.placed).toBeGreaterThan((durationMs / 1000) * 3 * 0.5);
    expect(report.stats.errors, report.stats.lastErrors.join('; ')).toBe(0);

    // The log, whole.
    const log: { id: string; type: string; data: Record<string, unknown> }[] = [];
    for (let after = 0; ; ) {
      const page = await shop.flamingo.bus.read({ afterSequence: after, limit: 1000 });
      if (page.length === 0) break;
      log.push(...page.map((e) => ({ id: e.id, type: e.type, data: e.data as Record<string, unknown> })));
      after = page[page.length - 1]!.sequence;
    }
    const head = await shop.flamingo.bus.engine.head();
    await eventually(
      async () => {
        const { body } = await shop.request('GET', '/v1/subscriptions');
        const info = body.subscriptions.find((s: { name: string }) => s.name === 'warehouse');
        return info?.lag === 0 && info.details?.lastLandedSequence >= head ? true : undefined;
      },
      'the warehouse to land the log',
      30_000,
    );

    // events: exactly the log's ids, in its order.
    const landed: string[] = [];
    for (let after = 0; ; ) {
      const page = await sql(`SELECT id, sequence FROM events WHERE sequence > ${after} AND sequence <= ${head} ORDER BY sequence LIMIT 5000`);
      if (page.length === 0) break;
      landed.push(...page.map((r) => r.id as string));
      after = page[page.length - 1]!.sequence as number;
    }
    expect(landed).toEqual(log.map((e) => e.id));

    // orders: one row per order of the log, agreeing with GET /v1/orders/:id.
    const orderIds = [...new Set(log.filter((e) => e.type.startsWith('order.')).map((e) => e.data.orderId as string))].sort();
    const rows = await sql('SELECT order_id, customer_id, status, total_cents, currency, cancellation_reason, item_count FROM orders ORDER BY order_id');
    expect(rows.map((r) => r.order_id)).toEqual(orderIds);
    const fromShop = new Map<string, Record<string, unknown>>();
    const sales = new Map<string, { orders: number; revenue: number; refunds: number }>();
    const tally = (key: string) => sales.get(key) ?? (sales.set(key, { orders: 0, revenue: 0, refunds: 0 }), sales.get(key)!);
    for (const orderId of orderIds) {
      const order = (await shop.request('GET', `/v1/orders/${orderId}`)).body;
      fromShop.set(orderId, {
        order_id: orderId,
        customer_id: order.userId,
        status: order.status,
        total_cents: order.totalCents,
        currency: order.currency,
        cancellation_reason: order.cancellation?.reason ?? null,
        item_count: order.items.length,
      });
      tally(`${day(order.createdAt)} ${order.currency}`).orders += 1;
      const payment = await shop.request('GET', `/v1/payments/${orderId}`);
      if (payment.status !== 200) continue;
      if (payment.body.status === 'succeeded') tally(`${day(payment.body.settledAt)} ${payment.body.currency}`).revenue += payment.body.amountCents;
      if (payment.body.refund?.status === 'refunded') tally(`${day(payment.body.refund.refundedAt)} ${payment.body.currency}`).refunds += payment.body.amountCents;
    }
    expect(rows).toEqual(orderIds.map((id) => fromShop.get(id)));
    expect(rows.filter((r) => r.status === 'completed').length).toBe(report.stats.completed);
    expect(rows.filter((r) => r.status === 'cancelled').length).toBeGreaterThan(0);

    // daily_sales: orders, revenue and refunds per day and currency, as the shop's APIs add up.
    const daily = await sql('SELECT day, currency, orders, revenue_cents, refunds_cents FROM daily_sales ORDER BY day, currency');
    expect(daily).toEqual(
      [...sales.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([key, s]) => {
        const [d, currency] = key.split(' ');
        return { day: d, currency, orders: s.orders, revenue_cents: s.revenue, refunds_cents: s.refunds };
      }),
    );
  });
});
