/**
 * The payments handler as the bus calls it, on SQLite and PostgreSQL: an order is charged once
 * however often (and however concurrently) `stock.reserved` is delivered, and refunded once.
 * Real database, real sandbox tables, the real outbox (its rows are what would be published).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBus, createOutbox, handleOnce, type Bus, type DeliveredEvent } from '../src/bus/index.ts';
import type { EventData } from '../src/contracts/index.ts';
import { sqliteEngine } from '../src/engines/sqlite/index.ts';
import { chargesHandler, type ChargeEvent, type ChargeType } from '../src/services/payments/handlers.ts';
import { paymentsMigrations } from '../src/services/payments/index.ts';
import { sandboxProvider } from '../src/services/payments/sandbox.ts';
import type { PaymentsDatabase } from '../src/services/payments/store.ts';
import { DIALECTS, openTestDatabase, type TestDatabase } from './support/service-databases.ts';

let sequence = 0;
function delivered<T extends ChargeType>(type: T, data: EventData<T>, id = uuidv7()): DeliveredEvent<ChargeType> {
  const now = new Date().toISOString();
  sequence += 1;
  return { specversion: '1.0', id, source: '/test', type, time: now, datacontenttype: 'application/json', data, sequence, recordedtime: now } as DeliveredEvent<ChargeType>;
}

describe.each(DIALECTS)('payments handler on %s', (dialect) => {
  let test: TestDatabase<PaymentsDatabase>;
  let bus: Bus;
  let dir: string;
  let handle: ReturnType<typeof chargesHandler>;
  let sandbox: ReturnType<typeof sandboxProvider>;
  const context = { subscription: 'payments.charges', attempt: 1 };

  beforeAll(async () => {
    test = await openTestDatabase<PaymentsDatabase>(dialect, 'payments', paymentsMigrations);
    dir = mkdtempSync(path.join(os.tmpdir(), 'flamingo-payments-'));
    bus = createBus({ engine: sqliteEngine({ file: path.join(dir, 'bus.db') }) });
    const { db } = test.database;
    // The relay is not started: the outbox rows are what the service would publish.
    const outbox = createOutbox({ db, bus, dialect });
    sandbox = sandboxProvider({ db, slowMs: 300 });
    // What the service runtime's `once` does: the inbox mark and the events in one transaction.
    const once = (event: ChargeEvent, ctx: typeof context, work: Parameters<Parameters<typeof chargesHandler>[0]['once']>[2]) =>
      handleOnce<PaymentsDatabase, ChargeType>(db, async (_event, trx) => {
        for (const published of await work(trx)) await outbox.add(trx, published);
      })(event as DeliveredEvent<ChargeType>, ctx) as Promise<void>;
    handle = chargesHandler({ db, once, provider: sandbox, logger: pino({ level: 'silent' }) });
  });
  afterAll(async () => {
    await bus?.close();
    await test?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const outboxed = async (orderId: string) => {
    const rows = await test.database.db
      .selectFrom('flamingo_outbox' as never)
      .select(['type' as never, 'event' as never])
      .execute();
    return (rows as unknown as { type: string; event: string }[])
      .map((r) => ({ type: r.type, data: JSON.parse(r.event).data }))
      .filter((e) => e.data.orderId === orderId);
  };
  const place = async (paymentToken: string | undefined, totalCents = 4200) => {
    const orderId = uuidv7();
    await handle(
      delivered('order.placed', {
        orderId,
        userId: 'u1',
        items: [{ productId: 'p1', quantity: 1, unitPriceCents: totalCents }],
        totalCents,
        currency: 'EUR',
        ...(paymentToken === undefined ? {} : { paymentToken }),
      }),
      context,
    );
    return orderId;
  };
  const reserved = (orderId: string, id?: string) => delivered('stock.reserved', { orderId, items: [{ productId: 'p1', quantity: 1 }] }, id);

  it('charges once when stock.reserved is delivered three times at once and again later', async () => {
    const orderId = await place('tok_slow');
    const event = reserved(orderId);
    await Promise.all([handle(event, context), handle(event, { ...context, attempt: 2 }), handle(reserved(orderId), context)]);
    await handle(event, { ...context, attempt: 3 });
    expect(await sandbox.charges({ idempotencyKey: `order:${orderId}` })).toHaveLength(1);
    const events = await outboxed(orderId);
    expect(events.map((e) => e.type)).toEqual(['payment.succeeded']);
    expect(events[0].data).toMatchObject({ orderId, amountCents: 4200, currency: 'EUR', userId: 'u1' });
    const order = await test.database.db.selectFrom('payment_orders').selectAll().where('order_id', '=', orderId).executeTakeFirstOrThrow();
    expect(order.payment_token).toBeNull();
  });

  it('a declined token fails the payment once, with the provider’s reason', async () => {
    const orderId = await place('tok_declined');
    await handle(reserved(orderId), context);
    await handle(reserved(orderId), context);
    const events = await outboxed(orderId);
    expect(events).toEqual([{ type: 'payment.failed', data: expect.objectContaining({ error: 'insufficient funds', code: 'card_declined' }) }]);
  });

  it('an order without a token fails at once (missing_token) without calling the provider', async () => {
    const orderId = await place(undefined);
    await handle(reserved(orderId), context);
    expect(await sandbox.charges({ idempotencyKey: `order:${orderId}` })).toHaveLength(0);
    expect((await outboxed(orderId)).map((e) => [e.type, e.data.code])).toEqual([['payment.failed', 'missing_token']]);
  });

  it('an order cancelled before stock was reserved is never charged', async () => {
    const orderId = await place('tok_ok');
    await handle(delivered('order.cancelled', { orderId, userId: 'u1', reason: 'user_banned', stockReserved: false }), context);
    await handle(reserved(orderId), context);
    expect(await sandbox.charges({ idempotencyKey: `order:${orderId}` })).toHaveLength(0);
    expect(await outboxed(orderId)).toEqual([]);
  });

  it('a paid order that is cancelled is refunded once, however often order.cancelled comes', async () => {
    const orderId = await place('tok_ok');
    await handle(reserved(orderId), context);
    const cancelled = delivered('order.cancelled', { orderId, userId: 'u1', reason: 'payment_timeout', stockReserved: true });
    await Promise.all([handle(cancelled, context), handle(cancelled, context)]);
    await handle(delivered('order.cancelled', { orderId, userId: 'u1', reason: 'payment_timeout', stockReserved: true }), context);
    const events = await outboxed(orderId);
    expect(events.map((e) => e.type)).toEqual(['payment.succeeded', 'payment.refunded']);
    expect(events[1].data).toMatchObject({ amountCents: 4200, reason: 'order cancelled: payment_timeout' });
    const refunds = await test.database.db.selectFrom('sandbox_refunds').selectAll().execute();
    expect(refunds.filter((r) => r.idempotency_key.startsWith('refund:'))).toHaveLength(1);
  });
});
