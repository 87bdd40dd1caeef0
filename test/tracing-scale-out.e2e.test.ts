/**
 * An order's trace across processes and NATS JetStream (issue 12): one process runs users and
 * orders, the other catalog, payments and fulfillment, so every step of the saga crosses from one
 * process to the other through the stream; the context travels in the events' `traceparent`, and
 * both processes' spans reach one OTLP/HTTP receiver in one trace.
 */
import { expect, it } from 'vitest';
import { expectOrderTrace, KIND, orderTrace, startOtlpReceiver } from './support/otlp.ts';
import { adminApi, labelled, showOutputOnFailure, startFlamingoProcess, useScaleOutRun, waitFor } from './support/scale-out.ts';

const ADMIN_KEY = 'tracing-scale-out-admin-key-0123456789';
const TOKEN_SECRET = 'tracing-scale-out-token-secret-0123456789abcdef';

const scaleOut = useScaleOutRun();
const { processes } = scaleOut;

it('two processes on NATS: the order placed on one is one trace through the other', { timeout: 90_000 }, async () => {
  showOutputOnFailure(processes);
  const receiver = await startOtlpReceiver();
  scaleOut.onCleanup(async () => receiver.close());
  const databaseUrl = scaleOut.run.databaseUrl!;
  const env = (name: string, services: string) => ({
    ...scaleOut.run.env,
    DATABASE_URL: labelled(databaseUrl, name),
    FLAMINGO_ADMIN_KEY: ADMIN_KEY,
    FLAMINGO_TOKEN_SECRET: TOKEN_SECRET,
    FLAMINGO_SERVICES: services,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_SERVICE_NAME: name,
    LOG_LEVEL: 'warn',
  });
  processes.push(
    ...(await Promise.all([
      startFlamingoProcess('front', ['start'], env('front', 'users,orders')),
      startFlamingoProcess('back', ['start'], env('back', 'catalog,payments,fulfillment')),
    ])),
  );
  const [front, back] = processes.map((p) => adminApi(p.url, ADMIN_KEY));
  const product = await back.call('POST', '/v1/products', { sku: 'TRACE-NATS', name: 'Traced beans', priceCents: 900, onHand: 5 });
  expect(product.status).toBe(201);
  const user = await front.call('POST', '/v1/users', { email: 'nats-tracer@example.com', name: 'Tracer', password: 'a good password' });
  expect(user.status).toBe(201);
  const token = (await front.call('POST', '/v1/auth/login', { email: 'nats-tracer@example.com', password: 'a good password' })).body.token as string;
  await waitFor(
    async () => {
      const response = await fetch(`${processes[0].url}/v1/orders`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ userId: user.body.id, items: [{ productId: product.body.id, quantity: 1 }], paymentToken: 'tok_ok' }),
      });
      return response.status === 201 ? true : undefined;
    },
    () => 'the orders replica to know the customer and the product',
    20_000,
    100,
  );

  const trace = await waitFor(async () => orderTrace(receiver.spans), () => `the whole trace at the receiver (${receiver.spans.length} spans so far)`, 30_000, 200);
  expectOrderTrace(trace);
  // Both processes took part: the request and the order on the front, stock, payment and shipment on the back.
  const services = (type: string) => new Set(trace.inTrace.filter((s) => s.attributes['messaging.destination.name'] === type && s.kind === KIND.producer).map((s) => s.service));
  expect(trace.request.service).toBe('front');
  expect(services('order.placed')).toEqual(new Set(['front']));
  expect(services('stock.reserved')).toEqual(new Set(['back']));
  expect(services('payment.succeeded')).toEqual(new Set(['back']));
  expect(services('shipment.created')).toEqual(new Set(['back']));
});
