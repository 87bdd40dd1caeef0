/**
 * One trace per order (issue 12): the HTTP request that places it, each event's PRODUCER span,
 * each subscription's CONSUMER span (messaging semantic conventions) and the events published in
 * reaction, all in the trace that began with the request, as received over OTLP/HTTP by a
 * receiver on loopback. Embedded engine, one process (tracing-scale-out: NATS, two processes).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { catalogService } from '../src/services/catalog/index.ts';
import { fulfillmentService } from '../src/services/fulfillment/index.ts';
import { expectOrderTrace, KIND, orderTrace, startOtlpReceiver, type OtlpReceiver } from './support/otlp.ts';
import { eventually, orderReaches, startShop, type Shop } from './support/shop.ts';

let receiver: OtlpReceiver;
let shop: Shop;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  shop = await startShop({ others: [catalogService(), fulfillmentService()], env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_SERVICE_NAME: 'flamingo-test' } });
});
afterAll(async () => {
  await shop?.stop();
  receiver?.close();
});

it('traces an order from the request that placed it to its shipment, through every reaction', async () => {
  const product = await shop.request('POST', '/v1/products', { body: { sku: 'TRACE-1', name: 'Traced beans', priceCents: 900, onHand: 5 } });
  expect(product.status).toBe(201);
  const user = await shop.request('POST', '/v1/users', { key: null, body: { email: 'tracer@example.com', name: 'Tracer', password: 'a good password' } });
  const { token } = (await shop.request('POST', '/v1/auth/login', { key: null, body: { email: 'tracer@example.com', password: 'a good password' } })).body;
  const placed = await eventually(async () => {
    const answer = await shop.request('POST', '/v1/orders', { key: token, body: { userId: user.body.id, items: [{ productId: product.body.id, quantity: 1 }], paymentToken: 'tok_ok' } });
    return answer.status === 422 ? undefined : answer;
  }, 'the orders replica to know the customer and the product');
  expect(placed.status, placed.text).toBe(201);
  const orderId = placed.body.id as string;
  await orderReaches(shop, orderId, 'confirmed');

  const trace = await eventually(async () => orderTrace(receiver.spans), 'the whole trace of the order at the receiver', 15_000);
  expectOrderTrace(trace);
  expect(trace.request.service).toBe('flamingo-test');
  // The stored event carries the trace context of its PRODUCER span.
  const placedSpan = trace.inTrace.find((s) => s.kind === KIND.producer && s.attributes['messaging.destination.name'] === 'order.placed')!;
  const [stored] = await shop.flamingo.bus.read({ subject: `order/${orderId}`, types: ['order.placed'], limit: 1 });
  expect(stored.traceparent).toBe(`00-${placedSpan.traceId}-${placedSpan.spanId}-01`);
}, 40_000);
