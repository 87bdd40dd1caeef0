/**
 * The JetStream ceilings: the same payloads through the plain client, no bus or engine on top.
 * Streams are file-backed like the engine's, named per run, and deleted afterwards.
 */
import { AckPolicy, DeliverPolicy, JetStreamApiError, StorageType, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { v7 as uuidv7 } from 'uuid';
import { dataPool, rawPayload } from './fixtures.ts';
import { closedLoop, nowMs, paced, percentiles, sleep, type Percentiles } from './stats.ts';

/** Partitions of the engine's stream by default; raw subjects get the same shape. */
const PARTITIONS = 16;

export interface NatsRaw {
  /** Events/s with `inFlight` publishes awaiting their acknowledgement at once, each with `Nats-Msg-Id`. */
  publish(options: { inFlight: number; durationMs: number }): Promise<{ rate: number; events: number }>;
  /** Every message of `stream` through a durable pull consumer (explicit acks), each parsed. */
  scan(stream: string, expected: number): Promise<{ events: number; rate: number }>;
  /** Publish (not awaited) → a pull consumer receives, at `rate` per second. Milliseconds. */
  latency(options: { rate: number; durationMs: number }): Promise<Percentiles>;
  close(): Promise<void>;
}

async function addStream(jsm: JetStreamManager, name: string, prefix: string): Promise<void> {
  await jsm.streams.add({ name, subjects: [`${prefix}.>`], storage: StorageType.File, duplicate_window: 120_000 * 1_000_000 });
}

const isNotFound = (error: unknown) => error instanceof JetStreamApiError && (error.status === 404 || error.code === 10059);

/**
 * Deletes the stream `prefix` and every stream whose name starts with `<prefix>_` (the engine keeps
 * companions beside its stream: `_DLQ`, `_LEASES`, …), ignoring those already gone. Only names
 * made unique for this run are ever passed here.
 */
export async function deleteStreamsOf(servers: readonly string[], prefix: string): Promise<string[]> {
  const nc = await connect({ servers: [...servers] });
  const deleted: string[] = [];
  try {
    const jsm = await jetstreamManager(nc);
    const names: string[] = [];
    for await (const info of jsm.streams.list()) {
      if (info.config.name === prefix || info.config.name.startsWith(`${prefix}_`)) names.push(info.config.name);
    }
    for (const name of names) {
      await jsm.streams.delete(name).then(
        () => deleted.push(name),
        (error: unknown) => {
          if (!isNotFound(error)) throw error;
        },
      );
    }
  } finally {
    await nc.close();
  }
  return deleted;
}

export async function rawNats(options: { servers: readonly string[]; runId: string }): Promise<NatsRaw> {
  // Without async traces the client does not build two Error objects (stack traces) per request: a
  // ceiling is the best the client can do.
  const nc: NatsConnection = await connect({ servers: [...options.servers], name: `bench raw ${options.runId}`, noAsyncTraces: true });
  const jsm = await jetstreamManager(nc);
  const js: JetStreamClient = jetstream(nc);
  const pool = dataPool(1_000);
  const created: string[] = [];
  let streams = 0;

  const freshStream = async () => {
    streams += 1;
    const name = `BENCH_${options.runId}_raw${streams}`;
    const prefix = name.toLowerCase();
    await addStream(jsm, name, prefix);
    created.push(name);
    return { name, subject: (n: number) => `${prefix}.${n % PARTITIONS}.order.placed` };
  };

  return {
    async publish({ inFlight, durationMs }) {
      const stream = await freshStream();
      const { done, ms } = await closedLoop(inFlight, durationMs, async (i) => {
        const id = uuidv7();
        await js.publish(stream.subject(i), rawPayload(pool[i % pool.length], id), { msgID: id });
      });
      return { rate: (done * 1000) / ms, events: done };
    },

    async scan(stream, expected) {
      const durable = `bench_raw_scan_${Date.now()}`;
      await jsm.consumers.add(stream, { durable_name: durable, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, max_ack_pending: 10_000 });
      const consumer = await js.consumers.get(stream, durable);
      const start = nowMs();
      let events = 0;
      const messages = await consumer.consume({ max_messages: 1_000 });
      const deadline = setTimeout(() => messages.stop(), 120_000);
      for await (const message of messages) {
        const event = JSON.parse(message.string()) as { id: string; sequence?: number };
        event.sequence = message.seq;
        message.ack();
        events += 1;
        if (events >= expected) break;
      }
      clearTimeout(deadline);
      const ms = nowMs() - start;
      messages.stop();
      await jsm.consumers.delete(stream, durable).catch(() => undefined);
      return { events, rate: (events * 1000) / ms };
    },

    async latency({ rate, durationMs }) {
      const stream = await freshStream();
      const durable = 'bench_raw_latency';
      await jsm.consumers.add(stream.name, { durable_name: durable, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All });
      const consumer = await js.consumers.get(stream.name, durable);
      const messages = await consumer.consume({ max_messages: 1_000 });
      const sentAt = new Map<string, number>();
      const latencies: number[] = [];
      const expected = Math.round((rate * durationMs) / 1000);
      const received = (async () => {
        for await (const message of messages) {
          const at = nowMs();
          const id = message.headers?.get('Nats-Msg-Id') ?? '';
          const start = sentAt.get(id);
          if (start !== undefined) latencies.push(at - start);
          message.ack();
          if (latencies.length >= expected) break;
        }
      })();
      await paced(rate, durationMs, (i) => {
        const id = uuidv7();
        const payload = rawPayload(pool[i % pool.length], id);
        sentAt.set(id, nowMs());
        js.publish(stream.subject(i), payload, { msgID: id }).catch(() => undefined);
      });
      await Promise.race([received, sleep(5_000)]);
      messages.stop();
      return percentiles(latencies);
    },

    async close() {
      for (const name of created) await jsm.streams.delete(name).catch(() => undefined);
      await nc.close();
    },
  };
}
