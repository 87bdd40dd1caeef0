import { AckPolicy, DeliverPolicy, type ConsumerConfig, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Delivery } from './delivery.ts';
import { fetchBatch } from './fetch.ts';

export type ScanStart = { readonly sequence: number } | { readonly time: Date } | 'all';

export interface ScanOptions {
  /** One subject filter, or several (servers 2.10+ only). */
  readonly filter: string | readonly string[];
  readonly start: ScanStart;
  /** Messages per pull request. (Default: 500) */
  readonly chunk?: number;
}

/**
 * Reads a stream in order through an ephemeral, unacknowledged consumer (works on 2.9, unlike
 * batched direct get), from `start` to what was stored when the scan began. Stop early by
 * breaking out of the loop; the consumer is deleted either way.
 */
export async function* scan(nc: NatsConnection, jsm: JetStreamManager, stream: string, options: ScanOptions): AsyncGenerator<Delivery> {
  const config: Partial<ConsumerConfig> = {
    ack_policy: AckPolicy.None,
    mem_storage: true,
    num_replicas: 1,
    inactive_threshold: 30_000_000_000,
    ...startConfig(options.start),
    ...(typeof options.filter === 'string' || options.filter.length === 1
      ? { filter_subject: typeof options.filter === 'string' ? options.filter : options.filter[0] }
      : { filter_subjects: [...options.filter] }),
  };
  const info = await jsm.consumers.add(stream, config);
  const chunk = options.chunk ?? 500;
  let pending = info.num_pending;
  try {
    while (pending > 0) {
      const deliveries = await fetchBatch(nc, stream, info.name, Math.min(chunk, pending));
      if (deliveries.length === 0) return;
      for (const delivery of deliveries) yield delivery;
      pending = deliveries[deliveries.length - 1].pending;
    }
  } finally {
    await jsm.consumers.delete(stream, info.name).catch(() => undefined);
  }
}

function startConfig(start: ScanStart): Partial<ConsumerConfig> {
  if (start === 'all') return { deliver_policy: DeliverPolicy.All };
  if ('sequence' in start) return start.sequence <= 1 ? { deliver_policy: DeliverPolicy.All } : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start.sequence };
  return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: start.time.toISOString() };
}
