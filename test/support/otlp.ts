/**
 * An OTLP/HTTP (JSON) trace receiver on loopback, and the check of an order's whole trace, for
 * the tracing tests.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { expect } from 'vitest';

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, string | number | boolean>;
  /** `service.name` of the process that sent it. */
  service: string;
}
export const KIND = { server: 2, producer: 4, consumer: 5 };

export interface OtlpReceiver {
  /** `OTEL_EXPORTER_OTLP_ENDPOINT` for it. */
  readonly endpoint: string;
  readonly spans: ReceivedSpan[];
  close(): void;
}

type Attribute = { key: string; value: Record<string, unknown> };
const attributesOf = (list: Attribute[] = []) => Object.fromEntries(list.map(({ key, value }) => [key, Object.values(value)[0] as string | number | boolean]));

/** Keeps every span sent to `/v1/traces` (OTLP/HTTP JSON); anything else gets 415. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const server: Server = createServer((request, response) => {
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
        resourceSpans: { resource?: { attributes?: Attribute[] }; scopeSpans: { spans: (Omit<ReceivedSpan, 'attributes' | 'service'> & { attributes?: Attribute[] })[] }[] }[];
      };
      for (const resource of payload.resourceSpans) {
        const service = String(attributesOf(resource.resource?.attributes)['service.name']);
        for (const scope of resource.scopeSpans) for (const span of scope.spans) spans.push({ ...span, attributes: attributesOf(span.attributes), service });
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, close: () => server.close() };
}

export const ORDER_EVENTS = ['order.placed', 'stock.reserved', 'payment.succeeded', 'order.confirmed', 'shipment.created'];

/** The spans of the trace that began with the request placing an order, once all of `ORDER_EVENTS` were published in it; undefined until then. */
export function orderTrace(spans: readonly ReceivedSpan[]): { request: ReceivedSpan; inTrace: ReceivedSpan[] } | undefined {
  for (const request of spans.filter((s) => s.kind === KIND.server && s.name === 'POST /v1/orders' && s.attributes['http.response.status_code'] === 201)) {
    const inTrace = spans.filter((s) => s.traceId === request.traceId);
    const published = new Set(inTrace.filter((s) => s.kind === KIND.producer).map((s) => s.attributes['messaging.destination.name']));
    if (ORDER_EVENTS.every((type) => published.has(type))) return { request, inTrace };
  }
  return undefined;
}

/** The trace's shape: the order published from the request, each later event from a handler of one before it, messaging attributes on each. */
export function expectOrderTrace({ request, inTrace }: { request: ReceivedSpan; inTrace: ReceivedSpan[] }): void {
  const byId = new Map(inTrace.map((s) => [s.spanId, s]));
  const producer = (type: string) => inTrace.find((s) => s.kind === KIND.producer && s.attributes['messaging.destination.name'] === type)!;
  expect(byId.get(producer('order.placed').parentSpanId!)?.spanId).toBe(request.spanId);
  // Every later event is published by a handler of the event before it: PRODUCER ← CONSUMER ← PRODUCER.
  for (const type of ORDER_EVENTS.slice(1)) {
    const consumer = byId.get(producer(type).parentSpanId!);
    expect(consumer?.kind, `${type} is published under a CONSUMER span`).toBe(KIND.consumer);
    expect(byId.get(consumer!.parentSpanId!)?.kind, `the consumer that published ${type} handles a published event`).toBe(KIND.producer);
  }
  const placed = producer('order.placed');
  expect(placed.attributes).toMatchObject({ 'messaging.system': 'flamingo', 'messaging.operation.type': 'send', 'messaging.destination.name': 'order.placed' });
  expect(placed.attributes['messaging.message.id']).toMatch(/^[0-9a-f-]{36}$/);
  const handling = inTrace.filter((s) => s.kind === KIND.consumer && s.parentSpanId === placed.spanId);
  expect(handling.length).toBeGreaterThan(0);
  for (const span of handling) {
    expect(span.attributes).toMatchObject({ 'messaging.system': 'flamingo', 'messaging.operation.type': 'process', 'messaging.destination.name': 'order.placed', 'messaging.message.id': placed.attributes['messaging.message.id'] });
    expect(span.attributes['messaging.consumer.group.name']).toEqual(expect.any(String));
  }
}
