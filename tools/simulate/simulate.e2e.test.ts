import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startShop, type Shop } from '../../test/support/shop.ts';
import { catalogService } from '../../src/services/catalog/index.ts';
import { cartsService } from '../../src/services/carts/index.ts';
import { fulfillmentService } from '../../src/services/fulfillment/index.ts';
import { reviewsService } from '../../src/services/reviews/index.ts';
import { measureOrderThroughput, simulate } from './index.ts';

describe('the shop simulator against a running shop', () => {
  let shop: Shop;
  beforeAll(async () => {
    shop = await startShop({
      others: [catalogService(), cartsService(), fulfillmentService(), reviewsService()],
      env: { FLAMINGO_SANDBOX_SLOW_MS: '300' },
    });
  });
  afterAll(() => shop.stop());

  it('drives sign-ups, carts, orders, payments, shipments and reviews, and shows progress', async () => {
    let output = '';
    const sink = { isTTY: false, write: (chunk: string) => ((output += chunk), true) } as unknown as NodeJS.WritableStream;
    const report = await simulate({
      url: shop.url,
      key: shop.adminKey,
      rate: 8,
      durationMs: 3000,
      drainMs: 15_000,
      seed: 3,
      products: 3,
      mix: { declined: 0.3, slow: 0.15, review: 0.6, spam: 0.5, abandon: 0 },
      output: sink,
    });
    const { stats } = report;
    expect(stats.placed).toBeGreaterThan(10);
    expect(stats.confirmed + stats.cancelled).toBe(stats.placed);
    expect(stats.cancelledBy.payment_failed).toBeGreaterThan(0);
    expect(stats.completed).toBe(stats.confirmed);
    expect(stats.shipmentsDelivered).toBe(stats.confirmed);
    expect(stats.reviews).toBeGreaterThan(0);
    expect(stats.reviewsFlagged).toBeGreaterThan(0);
    expect(stats.errors).toBe(0);
    expect(report.requests.failed).toBe(0);
    expect(output).toMatch(/req\/s \| orders placed \d+ confirmed \d+ cancelled \d+/);
  });

  it('measures orders per second, placed → confirmed, at a steady rate', async () => {
    const result = await measureOrderThroughput({ url: shop.url, key: shop.adminKey, rate: 10, durationMs: 2000, customers: 3 });
    expect(result.placed).toBeGreaterThanOrEqual(15);
    expect(result.confirmed).toBe(result.placed);
    expect(result.ordersPerSecond).toBeGreaterThan(5);
    expect(result.latencyMs.p50).toBeGreaterThan(0);
  });
});
