import { describe, expect, it } from 'vitest';
import { given } from './saga-specification.ts';
import { placed, refused, type SagaMessage } from './saga.ts';

const orderId = '0190a000-0000-7000-8000-000000000001';
const userId = '0190a000-0000-7000-8000-0000000000aa';
const items = [{ productId: 'p1', quantity: 2, unitPriceCents: 1250 }];
const order = placed({ orderId, userId, items, totalCents: 2500, currency: 'EUR' });

const stockReserved: SagaMessage = { type: 'stock.reserved', data: { orderId } };
const reservationFailed: SagaMessage = {
  type: 'stock.reservation_failed',
  data: { orderId, productId: 'p1', requested: 2, available: 1, reason: 'insufficient_stock' },
};
const paid: SagaMessage = { type: 'payment.succeeded', data: { paymentId: 'pay-1', orderId, amountCents: 2500, currency: 'EUR' } };
const declined: SagaMessage = { type: 'payment.failed', data: { orderId, error: 'insufficient funds' } };
const deadline: SagaMessage = { type: 'payment.deadline_passed', data: { orderId, timeoutMs: 1000 } };
const banned: SagaMessage = { type: 'user.banned', data: { userId, reason: 'spam', bannedBy: 'admin' } };
const created = (shipmentId: string): SagaMessage => ({ type: 'shipment.created', data: { shipmentId, orderId } });
const dispatched = (shipmentId: string): SagaMessage => ({
  type: 'shipment.dispatched',
  data: { shipmentId, orderId },
});
const delivered = (shipmentId: string): SagaMessage => ({ type: 'shipment.delivered', data: { shipmentId, orderId } });

const confirmed = { type: 'order.confirmed' as const, data: { orderId, userId, paymentId: 'pay-1', items, totalCents: 2500, currency: 'EUR' } };
const cancelled = (reason: 'out_of_stock' | 'payment_failed' | 'payment_timeout' | 'user_banned', detail: string, stock: boolean) => ({
  type: 'order.cancelled' as const,
  data: { orderId, userId, reason, stockReserved: stock, detail },
});

describe('order saga: happy path', () => {
  it('placed → stock reserved', () => {
    given(order).when(stockReserved).then({ status: 'stock_reserved', transitions: ['stock_reserved'] });
  });

  it('stock reserved → paid → confirmed, publishing order.confirmed', () => {
    given(order, stockReserved).when(paid).then({ status: 'confirmed', transitions: ['paid', 'confirmed'], publish: [confirmed] });
  });

  it('confirmed → shipped on dispatch', () => {
    given(order, stockReserved, paid, created('s1')).when(dispatched('s1')).then({ status: 'shipped', transitions: ['shipped'] });
  });

  it('shipped → delivered → completed, publishing order.completed', () => {
    given(order, stockReserved, paid, created('s1'), dispatched('s1'))
      .when(delivered('s1'))
      .then({
        status: 'completed',
        transitions: ['delivered', 'completed'],
        publish: [{ type: 'order.completed', data: { orderId, userId, totalCents: 2500, currency: 'EUR' } }],
      });
  });

  it('waits for every shipment before completing', () => {
    given(order, stockReserved, paid, created('s1'), created('s2'), dispatched('s1'), dispatched('s2'))
      .when(delivered('s1'))
      .then({ status: 'shipped', transitions: [] });
  });

  it('the cause of paid is the payment, of confirmed the published confirmation', () => {
    const decision = given(order, stockReserved).when(paid).then({ status: 'confirmed', publish: [confirmed] });
    if (decision.kind !== 'changed') throw new Error('expected a change');
    expect(decision.transitions.map((t) => t.cause)).toEqual([{ kind: 'message' }, { kind: 'published', index: 0 }]);
  });
});

describe('order saga: compensation', () => {
  it('reservation failed → cancelled (out_of_stock), nothing reserved', () => {
    given(order)
      .when(reservationFailed)
      .then({
        status: 'cancelled',
        publish: [cancelled('out_of_stock', 'insufficient_stock for product p1: requested 2, available 1', false)],
      });
  });

  it('payment failed → cancelled (payment_failed); stock was reserved, so it is released', () => {
    given(order, stockReserved)
      .when(declined)
      .then({ status: 'cancelled', publish: [cancelled('payment_failed', 'insufficient funds', true)] });
  });

  it('payment deadline passed before payment → cancelled (payment_timeout)', () => {
    given(order, stockReserved)
      .when(deadline)
      .then({ status: 'cancelled', publish: [cancelled('payment_timeout', 'no payment within 1000 ms', true)] });
  });

  it('a deadline after payment changes nothing', () => {
    given(order, stockReserved, paid).when(deadline).thenIgnored('no longer applies');
  });

  it('a ban cancels an unpaid order but not a paid one', () => {
    given(order).when(banned).then({ status: 'cancelled', publish: [cancelled('user_banned', 'spam', false)] });
    given(order, stockReserved, paid).when(banned).thenIgnored('paid order');
  });

  it('a payment that succeeds after the order was cancelled is left to payments to refund', () => {
    given(order, stockReserved, deadline).when(paid).thenIgnored('refunds');
  });
});

describe('order saga: a refused checkout (issue 7)', () => {
  it('is cancelled from the start and publishes only order.cancelled, nothing reserved', () => {
    const decision = refused({ orderId, userId, items, totalCents: 0, currency: 'EUR' }, 'fraud_suspected', 'price_mismatch: line 0');
    expect(decision.state).toMatchObject({ status: 'cancelled', stockReserved: false, cancellation: { reason: 'fraud_suspected', detail: 'price_mismatch: line 0' } });
    expect(decision.publish).toEqual([
      { type: 'order.cancelled', data: { orderId, userId, reason: 'fraud_suspected', stockReserved: false, detail: 'price_mismatch: line 0' } },
    ]);
    expect(decision.transitions).toEqual([{ status: 'cancelled', cause: { kind: 'published', index: 0 } }]);
  });

  it('ignores whatever comes after', () => {
    const decision = refused({ orderId, userId, items, totalCents: 0, currency: 'EUR' }, 'user_banned', 'customer is banned');
    given(decision.state).when(stockReserved).thenIgnored('cancelled');
    given(decision.state).when(paid).thenIgnored('cancelled');
  });
});

describe('order saga: duplicates and out-of-order arrivals', () => {
  it('a second stock.reserved is ignored', () => {
    given(order, stockReserved).when(stockReserved).thenIgnored('already handled');
  });

  it('a payment of another amount or currency than the order’s total settles nothing (issue 7)', () => {
    const short: SagaMessage = { type: 'payment.succeeded', data: { ...paid.data, amountCents: 1 } as typeof paid.data };
    given(order, stockReserved).when(short).thenIgnored('does not settle an order of 2500 EUR');
    const dollars: SagaMessage = { type: 'payment.succeeded', data: { ...paid.data, currency: 'USD' } as typeof paid.data };
    given(order).when(dollars).thenIgnored('does not settle');
    given(order, stockReserved).when(paid).then({ status: 'confirmed', publish: [confirmed] });
  });

  it('a second payment.succeeded is ignored', () => {
    given(order, stockReserved, paid).when(paid).thenIgnored('already paid');
  });

  it('events after completion are ignored', () => {
    given(order, stockReserved, paid, created('s1'), dispatched('s1'), delivered('s1')).when(declined).thenIgnored('completed');
  });

  it('a payment before the reservation is kept, and the reservation then confirms the order', () => {
    given(order).when(paid).then({ status: 'pending', transitions: [] });
    given(order, paid)
      .when(stockReserved)
      .then({ status: 'confirmed', transitions: ['stock_reserved', 'paid', 'confirmed'], publish: [confirmed] });
  });

  it('a dispatch before confirmation is ignored', () => {
    given(order, stockReserved).when(dispatched('s1')).thenIgnored('not confirmed');
  });

  it('a delivery whose dispatch was never seen still completes a confirmed order', () => {
    given(order, stockReserved, paid)
      .when(delivered('s1'))
      .then({ status: 'completed', transitions: ['shipped', 'delivered', 'completed'], publish: [{ type: 'order.completed', data: { orderId, userId, totalCents: 2500, currency: 'EUR' } }] });
  });

  it('the specification itself fails on a wrong expectation', () => {
    expect(() => given(order).when(stockReserved).then({ status: 'confirmed' })).toThrow(/status/);
    expect(() => given(order).when(stockReserved).thenIgnored()).toThrow(/expected it to be ignored/);
    expect(() => given(order, stockReserved, stockReserved)).toThrow(/given: stock.reserved was ignored/);
  });
});
