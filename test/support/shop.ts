/**
 * A running Flamingo with the shop's users, orders and payments services (plus any others given),
 * on loopback with a temp data dir, and small helpers to drive and watch it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { AnyPublishInput } from '../../src/bus/index.ts';
import { ordersService } from '../../src/services/orders/index.ts';
import { paymentsService } from '../../src/services/payments/index.ts';
import type { ServiceDefinition } from '../../src/services/service.ts';
import { usersService } from '../../src/services/users/index.ts';
import { startTestServer, type TestResponse, type TestServer } from './server.ts';
import { dropSchemas, TEST_DATABASE_URL, uniqueName } from './service-databases.ts';
import type { Dialect } from '../../src/platform/db.ts';

export interface Shop extends TestServer {
  /** Publishes an event on the bus as another context would. */
  publish(event: AnyPublishInput): Promise<void>;
  /** Events of one type (or pattern) about one subject (`order/<id>`), in log order. */
  eventsAbout(subject: string, types?: readonly string[]): Promise<{ id: string; type: string; data: Record<string, unknown>; causationid?: string }[]>;
  /** Waits until a subscription has handled everything in the log (no lag, nothing in flight or retrying). */
  caughtUp(subscription: string): Promise<void>;
}

export interface ShopOptions {
  /** Environment for the process (FLAMINGO_PAYMENT_TIMEOUT_MS, FLAMINGO_SANDBOX_SLOW_MS, …). */
  readonly env?: Record<string, string>;
  /** Services of other contexts to run beside users, orders and payments. */
  readonly others?: readonly ServiceDefinition[];
  /** Where the services' databases live. (Default: SQLite files in the data dir) */
  readonly dialect?: Dialect;
}

export async function startShop(options: ShopOptions = {}): Promise<Shop> {
  const postgres = options.dialect === 'postgres';
  // On PostgreSQL every run gets schemas of its own, dropped at the end.
  const names = postgres ? { users: uniqueName('users'), orders: uniqueName('orders'), payments: uniqueName('payments') } : undefined;
  const registry = [
    usersService(names ? { databaseName: names.users } : {}),
    ordersService(names ? { databaseName: names.orders } : {}),
    paymentsService(names ? { databaseName: names.payments } : {}),
    ...(options.others ?? []),
  ];
  const server = await startTestServer({ ...(postgres ? { DATABASE_URL: TEST_DATABASE_URL } : {}), ...options.env }, { registry });
  return {
    ...server,
    async publish(event) {
      await server.flamingo.bus.publish(event);
    },
    async eventsAbout(subject, types) {
      const events = await server.flamingo.bus.read({ subject, limit: 1000, ...(types ? { types } : {}) });
      return events.map((e) => ({ id: e.id, type: e.type, data: e.data as Record<string, unknown>, ...(e.causationid ? { causationid: e.causationid } : {}) }));
    },
    async caughtUp(subscription) {
      await eventually(async () => {
        const info = (await server.flamingo.bus.subscriptions()).find((s) => s.name === subscription);
        return info && info.lag === 0 && info.inFlight === 0 && info.retrying === 0 ? true : undefined;
      }, `${subscription} to catch up`);
    },
    async stop() {
      await server.stop();
      if (names) await dropSchemas({ dataDir: server.dataDir, databaseUrl: TEST_DATABASE_URL }, Object.values(names));
    },
  };
}

/** Retries `probe` until it returns something other than undefined; throws the last state after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** Polls `GET /v1/orders/:id` (with the admin key) until the order has `status`. */
export async function orderReaches(shop: TestServer, orderId: string, status: string, timeoutMs = 10_000): Promise<TestResponse> {
  let last: TestResponse | undefined;
  try {
    return await eventually(
      async () => {
        last = await shop.request('GET', `/v1/orders/${orderId}`);
        return last.body?.status === status ? last : undefined;
      },
      `order ${orderId} to be ${status}`,
      timeoutMs,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last seen ${last?.text}`, { cause: error });
  }
}

/** A product as the catalog announces it, so the orders replica can price it. */
export function productCreated(productId: string, priceCents: number, extra: { sku?: string; name?: string; currency?: string; active?: boolean } = {}): AnyPublishInput {
  return {
    type: 'product.created',
    source: '/services/catalog',
    data: {
      productId,
      sku: extra.sku ?? `SKU-${productId.slice(-6)}`,
      name: extra.name ?? 'Coffee beans 1 kg',
      priceCents,
      currency: extra.currency ?? 'EUR',
      onHand: 100,
      lowStockThreshold: 5,
      active: extra.active ?? true,
    },
  };
}
