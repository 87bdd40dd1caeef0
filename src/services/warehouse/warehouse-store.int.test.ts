/**
 * One suite, both warehouse backends (DuckDB embedded, PostgreSQL): landing exactly once, the
 * models, the per-type views, read-only queries and their limits, rebuild.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CloudEvent } from '../../contracts/index.ts';
import { openDuckDbWarehouse } from './duckdb-store.ts';
import { openPostgresWarehouse } from './postgres-store.ts';
import { rowMaker, type EventRow } from './rows.ts';
import { RebuildRunningError, type QueryLimits, type WarehouseStore } from './store.ts';

const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const LIMITS: QueryLimits = { timeoutMs: 10_000, maxRows: 1_000 };
const SECRET = 'warehouse-test-secret-0123456789abcdef';

interface Backend {
  readonly name: string;
  open(): Promise<{ store: WarehouseStore; reopen(): Promise<WarehouseStore>; cleanup(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'duckdb',
    async open() {
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'flamingo-warehouse-')), 'warehouse.duckdb');
      return { store: await openDuckDbWarehouse(file), reopen: () => openDuckDbWarehouse(file), cleanup: async () => fs.rmSync(path.dirname(file), { recursive: true, force: true }) };
    },
  },
  {
    name: 'postgres',
    async open() {
      const schema = `wh_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
      const open = () => openPostgresWarehouse({ url: TEST_DATABASE_URL, schema, secret: SECRET });
      return {
        store: await open(),
        reopen: open,
        async cleanup() {
          const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
          await client.connect();
          await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
          await client.query(`DROP OWNED BY "${schema}_reader"`).catch(() => undefined);
          await client.query(`DROP ROLE IF EXISTS "${schema}_reader"`);
          await client.end();
        },
      };
    },
  },
];

let sequence = 0;
/** A stored event as the bus delivers it. */
function event(type: string, data: Record<string, unknown>, time = new Date()): CloudEvent {
  sequence += 1;
  return {
    specversion: '1.0',
    id: uuidv7(),
    source: '/test',
    type,
    time: time.toISOString(),
    datacontenttype: 'application/json',
    dataschema: `flamingo:${type}/v1`,
    data,
    sequence,
    recordedtime: new Date().toISOString(),
    partitionkey: String(data.orderId ?? data.productId ?? data.userId ?? 'k'),
  };
}

const toRow = rowMaker({ personalData: 'pseudonymise', pseudonymKey: SECRET });
const rows = (events: readonly CloudEvent[]): EventRow[] => events.map(toRow);
const day = (iso: string) => new Date(`${iso}T12:00:00Z`);

function orderLife(orderId: string, userId: string, totalCents: number, currency: string, at: Date): CloudEvent[] {
  const t = (minutes: number) => new Date(at.getTime() + minutes * 60_000);
  const items = [{ productId: 'p1', quantity: 2, unitPriceCents: totalCents / 2 }];
  return [
    event('order.placed', { orderId, userId, items, totalCents, currency, paymentToken: 'tok_secret', email: 'ada@example.com' }, t(0)),
    event('stock.reserved', { orderId, items: [{ productId: 'p1', quantity: 2 }] }, t(1)),
    event('payment.succeeded', { paymentId: `pay-${orderId}`, orderId, userId, amountCents: totalCents, currency }, t(2)),
    event('order.confirmed', { orderId, userId, paymentId: `pay-${orderId}`, items, totalCents, currency }, t(3)),
    event('shipment.dispatched', { shipmentId: `s-${orderId}`, orderId, userId, carrier: 'dhl', trackingNumber: '1' }, t(4)),
    event('shipment.delivered', { shipmentId: `s-${orderId}`, orderId, userId }, t(5)),
    event('order.completed', { orderId, userId, totalCents, currency }, t(6)),
  ];
}

describe.each(backends)('warehouse on $name', (backend) => {
  let store: WarehouseStore;
  let reopen: () => Promise<WarehouseStore>;
  let cleanup: () => Promise<void>;
  const query = async (sql: string, limits = LIMITS) => (await store.query(sql, limits)).rows;
  const count = async (sql: string) => Number((await query(sql))[0]?.n);

  beforeEach(async () => {
    ({ store, reopen, cleanup } = await backend.open());
  });
  afterEach(async () => {
    await store.close();
    await cleanup();
  });

  it('lands each event id once: twice in one batch, again in a later batch, again after reopening', async () => {
    const events = orderLife('o-1', 'u-1', 2000, 'EUR', day('2024-03-01'));
    expect(await store.land(rows([...events, events[0]!, events[1]!]))).toBe(events.length);
    expect(await store.land(rows(events.slice(2)))).toBe(0);
    await store.close();
    store = await reopen();
    expect(await store.land(rows(events))).toBe(0);
    expect(await count('SELECT count(*) AS n FROM events')).toBe(events.length);
    expect(await count('SELECT count(DISTINCT id) AS n FROM events')).toBe(events.length);
    expect(await store.stats()).toEqual({ rows: events.length, lastSequence: events.at(-1)!.sequence });
  });

  it('keys a row on source + id: two producers\' events with one id are two rows, each landed once', async () => {
    const [a, b] = [event('cart.item_added', { items: [1], item: 1 }), event('cart.item_added', { items: [2], item: 2 })];
    const fromTwo = [{ ...a, id: '1', source: '/shop-a' }, { ...b, id: '1', source: '/shop-b' }];
    expect(await store.land(rows([...fromTwo, fromTwo[1]!]))).toBe(2);
    expect(await store.land(rows(fromTwo))).toBe(0);
    expect(await query("SELECT source, id FROM events WHERE id = '1' ORDER BY source")).toEqual([
      { source: '/shop-a', id: '1' },
      { source: '/shop-b', id: '1' },
    ]);
  });

  it('keeps secrets out and pseudonymises personal data the same way every time', async () => {
    const a = event('user.registered', { userId: 'u-a', email: 'ada@example.com', name: 'Ada Lovelace' });
    const b = event('user.updated', { userId: 'u-a', email: 'ada@example.com', name: 'Ada L.', changed: ['name'] });
    const placed = orderLife('o-2', 'u-a', 1000, 'EUR', new Date())[0]!;
    await store.land(rows([a, b, placed]));
    const [registered] = await query('SELECT email, name, user_id FROM user_registered');
    const [updated] = await query('SELECT email FROM user_updated');
    expect(registered!.email).toMatch(/^ps_[\w-]{22}$/);
    expect(registered!.email).toBe(updated!.email);
    expect(registered!.name).not.toContain('Ada');
    expect(registered!.user_id).toBe('u-a');
    const everything = JSON.stringify(await query('SELECT * FROM events'));
    expect(everything).not.toContain('tok_secret');
    expect(everything).not.toContain('ada@example.com');
    expect(everything).not.toContain('Lovelace');
    const [order] = await query('SELECT payment_token, total_cents, currency FROM order_placed');
    expect(order).toEqual({ payment_token: null, total_cents: 1000, currency: 'EUR' });
  });

  it('models orders through their life, cancellations with their reason, late events included', async () => {
    const at = day('2024-03-02');
    const life = orderLife('o-3', 'u-3', 3000, 'EUR', at);
    // The delivery arrives late: landed last, with an older time than the completion.
    const delivered = life.splice(5, 1)[0]!;
    await store.land(rows(life.slice(0, 4)));
    expect((await query(`SELECT status FROM orders WHERE order_id = 'o-3'`))[0]).toEqual({ status: 'confirmed' });
    await store.land(rows(life.slice(4)));
    await store.land(rows([delivered]));
    const cancelled = [
      event('order.placed', { orderId: 'o-4', userId: 'u-4', items: [{ productId: 'p1', quantity: 1, unitPriceCents: 500 }], totalCents: 500, currency: 'USD' }, at),
      event('order.cancelled', { orderId: 'o-4', userId: 'u-4', reason: 'payment_failed', detail: 'insufficient funds', stockReserved: true }, at),
      // Refused at checkout: only the cancellation exists.
      event('order.cancelled', { orderId: 'o-5', userId: 'u-5', reason: 'fraud_suspected', stockReserved: false }, at),
    ];
    await store.land(rows(cancelled));
    const orders = await query('SELECT order_id, customer_id, total_cents, currency, status, cancellation_reason, item_count, paid_at, delivered_at, completed_at FROM orders ORDER BY order_id');
    expect(orders).toEqual([
      {
        order_id: 'o-3',
        customer_id: 'u-3',
        total_cents: 3000,
        currency: 'EUR',
        status: 'completed',
        cancellation_reason: null,
        item_count: 1,
        paid_at: new Date(at.getTime() + 2 * 60_000).toISOString(),
        delivered_at: delivered.time,
        completed_at: life.at(-1)!.time,
      },
      { order_id: 'o-4', customer_id: 'u-4', total_cents: 500, currency: 'USD', status: 'cancelled', cancellation_reason: 'payment_failed', item_count: 1, paid_at: null, delivered_at: null, completed_at: null },
      { order_id: 'o-5', customer_id: 'u-5', total_cents: null, currency: null, status: 'cancelled', cancellation_reason: 'fraud_suspected', item_count: null, paid_at: null, delivered_at: null, completed_at: null },
    ]);
  });

  it('sums daily sales per day and currency, refunds and late events included', async () => {
    await store.land(rows([...orderLife('o-6', 'u', 1000, 'EUR', day('2024-03-03')), ...orderLife('o-7', 'u', 4000, 'EUR', day('2024-03-03'))]));
    await store.land(rows(orderLife('o-8', 'u', 700, 'USD', day('2024-03-03'))));
    await store.land(rows([event('payment.refunded', { refundId: 'r', paymentId: 'pay-o-6', orderId: 'o-6', amountCents: 1000, currency: 'EUR', reason: 'returned' }, day('2024-03-04'))]));
    // Late: an order of an earlier day lands after the others.
    await store.land(rows(orderLife('o-9', 'u', 300, 'EUR', day('2024-03-01'))));
    expect(await query('SELECT day, currency, orders, revenue_cents, refunds_cents, net_cents FROM daily_sales ORDER BY day, currency')).toEqual([
      { day: '2024-03-01', currency: 'EUR', orders: 1, revenue_cents: 300, refunds_cents: 0, net_cents: 300 },
      { day: '2024-03-03', currency: 'EUR', orders: 2, revenue_cents: 5000, refunds_cents: 0, net_cents: 5000 },
      { day: '2024-03-03', currency: 'USD', orders: 1, revenue_cents: 700, refunds_cents: 0, net_cents: 700 },
      { day: '2024-03-04', currency: 'EUR', orders: 0, revenue_cents: 0, refunds_cents: 1000, net_cents: -1000 },
    ]);
  });

  it('counts signups per day, rates products without flagged reviews, lists stock alerts', async () => {
    await store.land(
      rows([
        event('user.registered', { userId: 'u1', email: 'a@example.com', name: 'A' }, day('2024-03-05')),
        event('user.registered', { userId: 'u2', email: 'b@example.com', name: 'B' }, day('2024-03-05')),
        event('user.registered', { userId: 'u3', email: 'c@example.com', name: 'C' }, day('2024-03-06')),
        event('product.reviewed', { reviewId: 'r1', productId: 'p1', userId: 'u1', rating: 5, comment: 'great' }),
        event('product.reviewed', { reviewId: 'r2', productId: 'p1', userId: 'u2', rating: 4, comment: 'good' }),
        event('product.reviewed', { reviewId: 'r3', productId: 'p1', userId: 'u3', rating: 1, comment: 'spam spam' }),
        event('review.flagged', { reviewId: 'r3', productId: 'p1', reasons: ['spam'], flaggedBy: 'auto' }),
        event('stock.low', { productId: 'p1', sku: 'SKU-1', name: 'Lamp', onHand: 2, threshold: 5 }),
      ]),
    );
    expect(await query('SELECT day, signups FROM signups_daily ORDER BY day')).toEqual([
      { day: '2024-03-05', signups: 2 },
      { day: '2024-03-06', signups: 1 },
    ]);
    expect(await query('SELECT product_id, ratings, average_rating FROM product_ratings')).toEqual([{ product_id: 'p1', ratings: 2, average_rating: 4.5 }]);
    expect(await query('SELECT product_id, sku, on_hand, threshold FROM stock_alerts')).toEqual([{ product_id: 'p1', sku: 'SKU-1', on_hand: 2, threshold: 5 }]);
  });

  it('flattens each type into a typed view; a field an old event lacks is null', async () => {
    await store.land(
      rows([
        event('stock.adjusted', { productId: 'p1', delta: -3, onHand: 7, reason: 'damaged' }),
        event('stock.adjusted', { productId: 'p1', delta: 5, onHand: 12, reason: 'restock', note: 'supplier' }),
      ]),
    );
    const result = await store.query('SELECT delta, on_hand, reason, note FROM stock_adjusted ORDER BY sequence', LIMITS);
    expect(result.rows).toEqual([
      { delta: -3, on_hand: 7, reason: 'damaged', note: null },
      { delta: 5, on_hand: 12, reason: 'restock', note: 'supplier' },
    ]);
    expect(result.columns.map((c) => c.type.toLowerCase())).toEqual(['bigint', 'bigint', backend.name === 'duckdb' ? 'varchar' : 'text', backend.name === 'duckdb' ? 'varchar' : 'text']);
  });

  it('refuses writes, several statements and server files; cancels slow queries; caps rows', async () => {
    await store.land(rows(orderLife('o-10', 'u', 100, 'EUR', new Date())));
    for (const sql of ['DELETE FROM events', 'DROP TABLE events', "INSERT INTO events (id) VALUES ('x')", 'CREATE TABLE x (a int)']) {
      await expect(store.query(sql, LIMITS), sql).rejects.toMatchObject({ code: expect.stringMatching(/^(read_only|invalid_query)$/) });
    }
    await expect(store.query('SELECT 1; DROP TABLE events', LIMITS)).rejects.toMatchObject({ name: 'QueryError' });
    const serverFile = backend.name === 'duckdb' ? "SELECT * FROM read_text('/etc/hostname')" : "SELECT pg_read_file('/etc/hostname')";
    await expect(store.query(serverFile, LIMITS)).rejects.toMatchObject({ name: 'QueryError' });
    const slow = backend.name === 'duckdb' ? 'SELECT count(*) FROM range(1000000000) a, range(1000000000) b' : 'SELECT pg_sleep(5)';
    await expect(store.query(slow, { timeoutMs: 300, maxRows: 10 })).rejects.toMatchObject({ code: 'query_timeout' });
    const capped = await store.query('SELECT * FROM events ORDER BY sequence', { timeoutMs: 5_000, maxRows: 3 });
    expect(capped.rows).toHaveLength(3);
    expect(capped.truncated).toBe(true);
    expect(await count('SELECT count(*) AS n FROM events')).toBe(7);
  });

  it('rebuilds into a fresh table with one row per event, landing going on meanwhile', async () => {
    const log = [...orderLife('o-11', 'u', 100, 'EUR', new Date()), ...orderLife('o-12', 'u', 200, 'EUR', new Date())];
    await store.land(rows(log.slice(0, 9)));
    const target = await store.startRebuild();
    await target.append(rows(log.slice(0, 6)));
    // Landing goes on during the rebuild (redelivered and new events alike).
    await store.land(rows(log.slice(5, 12)));
    await target.finish(async () => rows(log.slice(6)));
    await store.land(rows(log.slice(10)));
    expect(await count('SELECT count(*) AS n FROM events')).toBe(log.length);
    expect(await count('SELECT count(DISTINCT id) AS n FROM events')).toBe(log.length);
    expect(await count(`SELECT count(*) AS n FROM orders WHERE status = 'completed'`)).toBe(2);
    // The key is back: a duplicate is still refused.
    expect(await store.land(rows(log))).toBe(0);
    expect((await store.scan(0, 100)).map((r) => r.id)).toEqual(log.map((e) => e.id));
  });

  it('runs one rebuild at a time: a second is refused until the first has finished or been abandoned', async () => {
    const log = orderLife('o-21', 'u', 100, 'EUR', new Date());
    await store.land(rows(log));
    const first = await store.startRebuild();
    await expect(store.startRebuild()).rejects.toThrow(RebuildRunningError);
    // The refused one dropped nothing: the first's copy lands whole.
    await first.append(rows(log.slice(0, 4)));
    await first.finish(async () => rows(log.slice(4)));
    expect(await count('SELECT count(*) AS n FROM events')).toBe(log.length);
    const second = await store.startRebuild();
    await expect(store.startRebuild()).rejects.toThrow(/already running/);
    await second.abandon();
    const third = await store.startRebuild();
    await third.abandon();
    expect(await count('SELECT count(*) AS n FROM events')).toBe(log.length);
  });

  if (backend.name === 'postgres') {
    it('refuses a rebuild while another process on the same schema runs one, and takes it once that one ends', async () => {
      const log = orderLife('o-22', 'u', 100, 'EUR', new Date());
      await store.land(rows(log));
      const other = await reopen();
      try {
        const theirs = await other.startRebuild();
        await expect(store.startRebuild()).rejects.toThrow(RebuildRunningError);
        await theirs.append(rows(log));
        await theirs.finish(async () => []);
        const ours = await store.startRebuild();
        await expect(other.startRebuild()).rejects.toThrow(RebuildRunningError);
        await ours.append(rows(log));
        await ours.finish(async () => []);
        expect(await count('SELECT count(*) AS n FROM events')).toBe(log.length);
      } finally {
        await other.close();
      }
    });
  }
});
