/**
 * One trace per order (issue 12): the HTTP request that places it, each event's PRODUCER span,
 * each subscription's CONSUMER span (messaging semantic conventions) and the events published in
 * reaction, all in the trace that began with the request, as received over OTLP/HTTP by a
 * receiver on loopback.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { catalogService } from '../src/services/catalog/index.ts';
import { fulfillmentService } from '../src/services/fulfillment/index.ts';
import { eventually, orderReaches, startShop, type Shop } from './support/shop.ts';

interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, string | number | boolean>;
}
const KIND = { server: 2, producer: 4, consumer: 5 };

let receiver: Server;
const spans: ReceivedSpan[] = [];
let shop: Shop;

/** An OTLP/HTTP (JSON) trace receiver: keeps every span it is sent. */
function startReceiver(): Promise<Server> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      let body = Buffer.concat(chunks);
      if (request.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      if (request.url !== '/v1/traces' || !String(request.headers['content-type']).startsWith('application/json')) {
        response.writeHead(415).end();
        return;
      }
      const payload = JSON.parse(body.toString()) as {
        resourceSpans: { scopeSpans: { spans: (Omit<ReceivedSpan, 'attributes'> & { attributes?: { key: string; value: Record<string, unknown> }[] })[] }[] }[];
      };
      for (const resource of payload.resourceSpans)
        for (const scope of resource.scopeSpans)
          for (const span of scope.spans) {
            const attributes: ReceivedSpan['attributes'] = {};
            for (const { key, value } of span.attributes ?? []) attributes[key] = Object.values(value)[0] as string | number | boolean;
            spans.push({ ...span, attributes });
          }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

beforeAll(async () => {
  receiver = await startReceiver();
  const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  shop = await startShop({ others: [catalogService(), fulfillmentService()], env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: 'flamingo-test' } });
});
afterAll(async () => {
  await shop?.stop();
  receiver?.close();
});

it("traces an order from the request that placed it to its shipment, through every reaction", async () => {
  const product = await shop.request('POST', '/v1/products', { body: { sku: 'TRACE-1', name: 'Traced beans', priceCents: 900, onHand: 5 } });
  expect(product.status).toBe(201);
  await shop.request('POST', '/v1/users', { key: null, body: { email: 'tracer@example.com', name: 'Tracer', password: 'a good password' } });
  const login = await shop.request('POST', '/v1/auth/login', { key: null, body: { email: 'tracer@example.com', password: 'a good password' } });
  const { token } = login.body;
  const userId = (await shop.request('GET', '/v1/users/me', { key: token })).body.id ?? login.body.userId;
  const placed = await eventually(async () => {
    const answer = await shop.request('POST', '/v1/orders', { key: token, body: { userId, items: [{ productId: product.body.id, quantity: 1 }], paymentToken: 'tok_ok' } });
    return answer.status === 422 ? undefined : answer;
  }, 'the orders replica to know the customer and the product');
  expect(placed.status, placed.text).toBe(201);
  const orderId = placed.body.id as string;
  await orderReaches(shop, orderId, 'confirmed');
  await eventually(async () => (await shop.request('GET', `/v1/shipments?orderId=${orderId}`)).body.shipments?.[0], 'the shipment');

  const wanted = ['order.placed', 'stock.reserved', 'payment.succeeded', 'order.confirmed', 'shipment.created'];
  const trace = await eventually(async () => {
    const request = spans.find((s) => s.kind === KIND.server && s.name === 'POST /v1/orders' && s.attributes['http.response.status_code'] === 201);
    if (!request) return undefined;
    const inTrace = spans.filter((s) => s.traceId === request.traceId);
    const published = new Set(inTrace.filter((s) => s.kind === KIND.producer).map((s) => s.attributes['messaging.destination.name']));
    return wanted.every((type) => published.has(type)) ? { request, inTrace } : undefined;
  }, 'the whole trace of the order at the receiver', 15_000);

  const byId = new Map(trace.inTrace.map((s) => [s.spanId, s]));
  const producer = (type: string) => trace.inTrace.find((s) => s.kind === KIND.producer && s.attributes['messaging.destination.name'] === type)!;
  // The order is published from within the request.
  expect(byId.get(producer('order.placed').parentSpanId!)?.spanId).toBe(trace.request.spanId);
  // Every later event is published by a handler of the event before it: PRODUCER ← CONSUMER ← PRODUCER.
  for (const type of wanted.slice(1)) {
    const consumer = byId.get(producer(type).parentSpanId!);
    expect(consumer?.kind, `${type} is published under a CONSUMER span`).toBe(KIND.consumer);
    expect(byId.get(consumer!.parentSpanId!)?.kind, `the consumer that published ${type} handles a published event`).toBe(KIND.producer);
  }
  const placedEvent = producer('order.placed');
  expect(placedEvent.attributes).toMatchObject({ 'messaging.system': 'flamingo', 'messaging.operation.type': 'send', 'messaging.destination.name': 'order.placed' });
  expect(placedEvent.attributes['messaging.message.id']).toMatch(/^[0-9a-f-]{36}$/);
  const handling = trace.inTrace.filter((s) => s.kind === KIND.consumer && s.parentSpanId === placedEvent.spanId);
  expect(handling.length).toBeGreaterThan(0);
  for (const span of handling) {
    expect(span.attributes).toMatchObject({ 'messaging.system': 'flamingo', 'messaging.operation.type': 'process', 'messaging.destination.name': 'order.placed', 'messaging.message.id': placedEvent.attributes['messaging.message.id'] });
    expect(span.attributes['messaging.consumer.group.name']).toEqual(expect.any(String));
  }
  // The stored event carries the trace context of its PRODUCER span.
  const [stored] = await shop.flamingo.bus.read({ subject: `order/${orderId}`, types: ['order.placed'], limit: 1 });
  expect(stored.traceparent).toBe(`00-${placedEvent.traceId}-${placedEvent.spanId}-01`);
}, 40_000);
