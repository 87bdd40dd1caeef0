import { expect, it } from 'vitest';
import { createMetrics } from './metrics.ts';

it('reads the outbox, mail and circuit gauges from their sources at scrape time, until unwatched', async () => {
  const metrics = createMetrics();
  let pending = 3;
  const unwatchOutbox = metrics.watchOutbox('orders', async () => pending);
  const unwatchMail = metrics.watchMailBacklog(async () => 7);
  const unwatchCircuits = metrics.watchCircuits(() => [{ target: 't-1', state: 'open', limitPerSecond: 40 }]);
  let text = await metrics.registry.metrics();
  expect(text).toContain('flamingo_outbox_backlog{service="orders"} 3');
  expect(text).toMatch(/^flamingo_mail_backlog 7$/m);
  expect(text).toContain('flamingo_delivery_circuit_state{target="t-1",state="open"} 1');
  expect(text).toContain('flamingo_delivery_circuit_state{target="t-1",state="closed"} 0');
  expect(text).toContain('flamingo_delivery_rate_limit_per_second{target="t-1"} 40');
  pending = 0;
  expect(await metrics.registry.metrics()).toContain('flamingo_outbox_backlog{service="orders"} 0');

  unwatchOutbox();
  unwatchMail();
  unwatchCircuits();
  text = await metrics.registry.metrics();
  expect(text).not.toContain('flamingo_outbox_backlog{');
  expect(text).not.toContain('flamingo_delivery_circuit_state{');
  expect(text).not.toMatch(/^flamingo_mail_backlog 7$/m);
});

it('leaves out the default gauges whose names break the naming rule', async () => {
  const text = await createMetrics().registry.metrics();
  expect(text).not.toContain('nodejs_active_handles_total');
  expect(text).toContain('process_cpu_seconds_total');
});
