/**
 * Quick measurement of the NATS engine beside bare JetStream on the same server and payloads:
 * `npx tsx src/engines/nats/measure.ts [servers] [events]`.
 *
 * - publish: events/s of `append` (batches of 500, and single-event appends all in flight) vs
 *   bare `js.publish` with `Nats-Msg-Id`, pipelined in windows of 1 024, to a stream of the same
 *   settings (file storage, 2 min duplicate window);
 * - latency: publish → handler at a steady 200 events/s, p50/p99, engine subscription
 *   (`ordering: 'key'`, concurrency 4) vs a bare durable pull consumer (`consume()`, explicit ack).
 * Streams are per run and deleted at the end.
 */
import { randomUUID } from 'node:crypto';
import { AckPolicy, StorageType, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { UnstoredEvent } from '../../contracts/index.ts';
import { natsEngine } from './nats-engine.ts';

const servers = process.argv[2] ?? 'nats://127.0.0.1:4222';
const total = Number(process.argv[3] ?? 20_000);
const run = randomUUID().slice(0, 8).toUpperCase();

function makeEvent(i: number): UnstoredEvent {
  return {
    specversion: '1.0',
    id: randomUUID(),
    source: '/services/orders',
    type: 'order.placed',
    subject: `order/o-${i % 500}`,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    dataschema: 'flamingo:order.placed/v1',
    data: { orderId: `o-${i % 500}`, customerId: `c-${i % 97}`, total: { amount: 4_990 + i, currency: 'EUR' }, lines: [{ sku: 'SKU-1', quantity: 2 }], sentAt: 0 },
    partitionkey: `o-${i % 500}`,
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const rate = (count: number, ms: number) => Math.round((count / ms) * 1000);

async function main(): Promise<void> {
  const nc = await connect({ servers });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const rawStream = `MEASURE_RAW_${run}`;
  const engineStream = `MEASURE_ENGINE_${run}`;
  await jsm.streams.add({ name: rawStream, subjects: [`mraw${run}.>`], storage: StorageType.File, duplicate_window: 120e9 });
  const engine = natsEngine({ servers, stream: engineStream });
  await engine.head();
  try {
    // Publish rate.
    const events = Array.from({ length: total }, (_, i) => makeEvent(i));
    let start = performance.now();
    for (let i = 0; i < events.length; i += 1_024) {
      await Promise.all(events.slice(i, i + 1_024).map((e) => js.publish(`mraw${run}.0.${e.type}`, JSON.stringify(e), { msgID: e.id })));
    }
    const raw = rate(total, performance.now() - start);

    const batched = events.map((e) => ({ ...e, id: randomUUID() }));
    start = performance.now();
    for (let i = 0; i < batched.length; i += 500) await engine.append(batched.slice(i, i + 500));
    const engineBatched = rate(total, performance.now() - start);

    const singles = events.map((e) => ({ ...e, id: randomUUID() }));
    start = performance.now();
    for (let i = 0; i < singles.length; i += 1_024) await Promise.all(singles.slice(i, i + 1_024).map((e) => engine.append([e])));
    const engineSingles = rate(total, performance.now() - start);

    console.log(`publish, ${total} events of ${JSON.stringify(events[0]).length} B:`);
    console.log(`  bare js.publish pipelined (window 1024)   ${raw} events/s`);
    console.log(`  engine.append, batches of 500            ${engineBatched} events/s (${Math.round((engineBatched / raw) * 100)} % of bare)`);
    console.log(`  engine.append, 1 event each, 1024 at once ${engineSingles} events/s (${Math.round((engineSingles / raw) * 100)} % of bare)`);

    // Publish → handler latency at a steady rate.
    const count = 1_000;
    const perSecond = 200;
    const steady = async (publish: (i: number) => Promise<unknown>) => {
      for (let i = 0; i < count; i++) {
        void publish(i);
        await new Promise((resolve) => setTimeout(resolve, 1_000 / perSecond));
      }
    };

    const rawLatencies: number[] = [];
    await jsm.consumers.add(rawStream, { durable_name: 'latency', ack_policy: AckPolicy.Explicit, filter_subject: `mraw${run}.1.>` });
    const rawMessages = await (await js.consumers.get(rawStream, 'latency')).consume({
      callback: (m) => {
        rawLatencies.push(performance.now() - (m.json<{ data: { sentAt: number } }>().data.sentAt ?? 0));
        m.ack();
      },
    });
    await steady((i) => {
      const e = makeEvent(i);
      (e.data as { sentAt: number }).sentAt = performance.now();
      return js.publish(`mraw${run}.1.${e.type}`, JSON.stringify(e), { msgID: e.id });
    });
    await waitFor(() => rawLatencies.length >= count);
    await rawMessages.close();

    const engineLatencies: number[] = [];
    const subscription = await engine.consume({ name: 'latency', types: ['order.*'], startAt: 'now', concurrency: 4 }, async (delivered) => {
      for (const e of delivered) engineLatencies.push(performance.now() - (e.data as { sentAt: number }).sentAt);
      return delivered.map(() => ({ kind: 'ack' as const }));
    });
    await steady((i) => {
      const e = makeEvent(i);
      (e.data as { sentAt: number }).sentAt = performance.now();
      return engine.append([e]);
    });
    await waitFor(() => engineLatencies.length >= count);
    await subscription.close();

    const show = (name: string, values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      console.log(`  ${name} p50 ${percentile(sorted, 50).toFixed(2)} ms  p99 ${percentile(sorted, 99).toFixed(2)} ms`);
    };
    console.log(`publish → handler, ${count} events at ${perSecond}/s:`);
    show('bare pull consumer      ', rawLatencies);
    show('engine subscription (key)', engineLatencies);
  } finally {
    await engine.close();
    for (const name of [rawStream, engineStream, `${engineStream}_DLQ`, `${engineStream}_LEASES`]) await jsm.streams.delete(name).catch(() => undefined);
    await nc.close();
  }
}

async function waitFor(check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

await main();
