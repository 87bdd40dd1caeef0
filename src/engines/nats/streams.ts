import { DiscardPolicy, JetStreamApiError, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig, type StreamInfo } from '@nats-io/jetstream';
import { InvalidOptionsError } from '../../bus/kit/index.ts';
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
const REPLICAS_NEED_CLUSTER = 10074;

/** A stream setting the server has, and cannot be made to have, otherwise than configured. */
export type StreamSetting = 'partitions' | 'replicas' | 'duplicateWindowMs' | 'leaseTtlMs';

/**
 * The existing streams disagree with a setting and JetStream cannot change it (partitions never
 * change; replicas above 1 need a cluster; the server may refuse an update), so the engine does
 * not start. `setting` names the engine option.
 */
export class StreamSettingsError extends InvalidOptionsError {
  constructor(
    readonly setting: StreamSetting,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Creates the event stream, its dead-letter stream and its lease stream when missing, and returns
 * the partition count stored with the event stream. A configured count that differs from the
 * stored one is refused: it would scatter a key over two partitions and break its order. Replicas
 * (all three streams) and the duplicate window (the event stream) that differ from the existing
 * streams' are updated in place, as JetStream allows; where the server refuses, or replicas above 1
 * are asked of a server without a cluster (JetStream 2.9 would record them and keep one copy),
 * start-up fails with a `StreamSettingsError` naming the setting.
 */
export async function ensureStreams(jsm: JetStreamManager, naming: Naming, settings: StreamSettings): Promise<{ partitions: number }> {
  const partitions = settings.partitions ?? settings.defaultPartitions;
  const layout: StreamLayout = { flamingo: 1, partitions };
  const duplicateWindow = settings.duplicateWindowMs * 1_000_000;
  const eventsInfo = await ensureStream(jsm, {
    name: naming.stream,
    description: JSON.stringify(layout),
    subjects: [`${naming.prefix}.*.>`],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    num_replicas: settings.replicas,
    duplicate_window: duplicateWindow,
    max_age: settings.maxAgeMs * 1_000_000,
    allow_direct: true,
  });
  const stored = parseLayout(eventsInfo.config.description);
  if (!stored) throw new Error(`stream ${naming.stream} exists but was not created by Flamingo (no layout in its description)`);
  if (settings.partitions !== undefined && stored.partitions !== settings.partitions) {
    throw new StreamSettingsError('partitions', `stream ${naming.stream} has ${stored.partitions} partitions, not the configured ${settings.partitions}: the count is fixed when the stream is created`);
  }
  if (settings.replicas > 1 && eventsInfo.cluster === undefined) {
    throw new StreamSettingsError(
      'replicas',
      `stream ${naming.stream}: ${settings.replicas} replicas need a JetStream cluster, and the server runs without one (it keeps ${eventsInfo.config.num_replicas === 1 ? 'one copy' : `one copy, though its configuration says ${eventsInfo.config.num_replicas} replicas`})`,
    );
  }
  await keepSettings(jsm, eventsInfo.config, { num_replicas: settings.replicas, duplicate_window: duplicateWindow });
  const dlqInfo = await ensureStream(jsm, {
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
  await keepSettings(jsm, dlqInfo.config, { num_replicas: settings.replicas });
  const leaseAge = settings.leaseTtlMs * 1_000_000;
  const leasesInfo = await ensureStream(jsm, {
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
  await keepSettings(jsm, leasesInfo.config, { num_replicas: settings.replicas, max_age: leaseAge });
  return { partitions: stored.partitions };
}

/** The engine option behind each stream setting `keepSettings` compares, its name and how to show a value. */
const SETTINGS: Record<'num_replicas' | 'duplicate_window' | 'max_age', { option: StreamSetting; label: string; shown: (value: number) => string }> = {
  num_replicas: { option: 'replicas', label: 'replicas', shown: String },
  duplicate_window: { option: 'duplicateWindowMs', label: 'duplicate window', shown: (ns) => `${ns / 1_000_000} ms` },
  max_age: { option: 'leaseTtlMs', label: 'max age', shown: (ns) => `${ns / 1_000_000} ms` },
};

/** Updates the stream where it differs from `wanted`; a refused update names the setting. */
async function keepSettings(jsm: JetStreamManager, current: StreamConfig, wanted: Partial<Pick<StreamConfig, keyof typeof SETTINGS>>): Promise<void> {
  const drift = (Object.keys(wanted) as (keyof typeof SETTINGS)[]).filter((field) => current[field] !== wanted[field]);
  if (drift.length === 0) return;
  try {
    await jsm.streams.update(current.name, { ...current, ...wanted });
  } catch (error) {
    if (!(error instanceof JetStreamApiError)) throw error;
    const changes = drift.map((f) => `${SETTINGS[f].label} from ${SETTINGS[f].shown(current[f])} to ${SETTINGS[f].shown(wanted[f] as number)}`).join(' and ');
    throw new StreamSettingsError(SETTINGS[drift[0]].option, `stream ${current.name}: JetStream refused to change ${changes} (${error.message})`);
  }
}

async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }): Promise<StreamInfo> {
  try {
    return await jsm.streams.info(config.name);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  try {
    return await jsm.streams.add(config);
  } catch (error) {
    // Another process created it between our look and our add.
    if (error instanceof JetStreamApiError && error.code === STREAM_NAME_IN_USE) return await jsm.streams.info(config.name);
    if (error instanceof JetStreamApiError && error.code === REPLICAS_NEED_CLUSTER) {
      throw new StreamSettingsError('replicas', `stream ${config.name}: ${config.num_replicas} replicas need a JetStream cluster (${error.message})`);
    }
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
