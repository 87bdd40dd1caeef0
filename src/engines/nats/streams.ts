import { DiscardPolicy, JetStreamApiError, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { leasePrefix, leaseStreamName } from './leases.ts';
import type { Naming } from './naming.ts';

/** What the event stream's description records, so every process agrees on the layout. */
interface StreamLayout {
  readonly flamingo: 1;
  readonly partitions: number;
}

export interface StreamSettings {
  /** Partitions to create a new stream with; undefined to accept whatever the stream has. */
  readonly partitions: number | undefined;
  readonly defaultPartitions: number;
  readonly replicas: number;
  readonly duplicateWindowMs: number;
  readonly maxAgeMs: number;
  /** Partition leases age out of `<stream>_LEASES` after this long without renewal. */
  readonly leaseTtlMs: number;
}

const STREAM_NAME_IN_USE = 10058;

/**
 * Creates the event stream and its dead-letter stream when missing, and returns the partition
 * count stored with the event stream. A configured count that differs from the stored one is
 * refused: it would scatter a key over two partitions and break its order.
 */
export async function ensureStreams(jsm: JetStreamManager, naming: Naming, settings: StreamSettings): Promise<{ partitions: number }> {
  const partitions = settings.partitions ?? settings.defaultPartitions;
  const layout: StreamLayout = { flamingo: 1, partitions };
  const events = await ensureStream(jsm, {
    name: naming.stream,
    description: JSON.stringify(layout),
    subjects: [`${naming.prefix}.*.>`],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    num_replicas: settings.replicas,
    duplicate_window: settings.duplicateWindowMs * 1_000_000,
    max_age: settings.maxAgeMs * 1_000_000,
    allow_direct: true,
  });
  const stored = parseLayout(events.description);
  if (!stored) throw new Error(`stream ${naming.stream} exists but was not created by Flamingo (no layout in its description)`);
  if (settings.partitions !== undefined && stored.partitions !== settings.partitions) {
    throw new Error(`stream ${naming.stream} has ${stored.partitions} partitions, not the configured ${settings.partitions}`);
  }
  await ensureStream(jsm, {
    name: naming.dlqStream,
    description: `Flamingo dead letters, retry state and redelivery queue of ${naming.stream}`,
    subjects: [`${naming.dlqPrefix}.>`],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    num_replicas: settings.replicas,
    // One record per (area, subscription, event): a newer record replaces the older.
    max_msgs_per_subject: 1,
    allow_direct: true,
  });
  const leaseAge = settings.leaseTtlMs * 1_000_000;
  const leases = await ensureStream(jsm, {
    name: leaseStreamName(naming),
    description: `Flamingo partition leases of ${naming.stream}'s key-ordered subscriptions`,
    subjects: [`${leasePrefix(naming)}.>`],
    storage: StorageType.Memory,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    num_replicas: settings.replicas,
    max_msgs_per_subject: 1,
    max_age: leaseAge,
  });
  // The lease time is the stream's max age: a changed setting takes effect for every process
  // (they should agree on it; the last one started wins).
  if (leases.max_age !== leaseAge) await jsm.streams.update(leases.name, { ...leases, max_age: leaseAge });
  return { partitions: stored.partitions };
}

async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }): Promise<StreamConfig> {
  try {
    return (await jsm.streams.info(config.name)).config;
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  try {
    return (await jsm.streams.add(config)).config;
  } catch (error) {
    // Another process created it between our look and our add.
    if (error instanceof JetStreamApiError && error.code === STREAM_NAME_IN_USE) return (await jsm.streams.info(config.name)).config;
    throw error;
  }
}

function parseLayout(description: string | undefined): StreamLayout | undefined {
  try {
    const value = JSON.parse(description ?? '') as Partial<StreamLayout>;
    return value.flamingo === 1 && Number.isInteger(value.partitions) && (value.partitions ?? 0) > 0 ? (value as StreamLayout) : undefined;
  } catch {
    return undefined;
  }
}

export function isNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError && (error.status === 404 || error.code === 10059 || error.code === 10014);
}
