import { randomUUID } from 'node:crypto';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { leasePrefix, leaseStreamName } from './leases.ts';
import { decodeToken, encodeToken, type Naming } from './naming.ts';

/**
 * How many handlers each process has attached to a subscription, so any process counts them all:
 * `<p>_lease.consumers.<subscription>.<process>` in the memory stream `<stream>_LEASES` holds this
 * process's count, written when it changes and renewed every quarter of the lease time; the
 * stream's max age (the lease time) drops the record of a process that vanished, and a clean stop
 * removes it at once.
 */
export interface ConsumerPresence {
  /** The count changed (a handler attached or began to detach): write it now. */
  update(): void;
  /** Removes this process's record (the subscription stopped here). */
  close(): Promise<void>;
}

export interface PresenceOptions {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly naming: Naming;
  readonly subscription: string;
  readonly ttlMs: number;
  /** Handlers attached here now. */
  readonly count: () => number;
  readonly onError: (error: Error) => void;
}

const presencePrefix = (naming: Naming): string => `${leasePrefix(naming)}.consumers`;

export function startPresence(options: PresenceOptions): ConsumerPresence {
  const { js, jsm, naming } = options;
  const subject = `${presencePrefix(naming)}.${encodeToken(options.subscription)}.${randomUUID()}`;
  let closed = false;
  // One write at a time, so the last count written is the last one taken.
  let writing: Promise<unknown> = Promise.resolve();
  const write = (): void => {
    writing = writing.then(() => (closed ? undefined : js.publish(subject, String(options.count())).catch(options.onError)));
  };
  const timer = setInterval(write, Math.max(100, Math.floor(options.ttlMs / 4)));
  timer.unref();
  return {
    update: write,
    async close() {
      closed = true;
      clearInterval(timer);
      await writing;
      await jsm.streams.purge(leaseStreamName(naming), { filter: subject }).catch(options.onError);
    },
  };
}

/** Handlers attached to each subscription, summed over the processes whose records are live. */
export async function countConsumers(jsm: JetStreamManager, naming: Naming): Promise<Map<string, number>> {
  const stream = leaseStreamName(naming);
  const prefix = `${presencePrefix(naming)}.`;
  const info = await jsm.streams.info(stream, { subjects_filter: `${prefix}>` });
  const counts = new Map<string, number>();
  await Promise.all(
    Object.keys(info.state.subjects ?? {}).map(async (subject) => {
      const record = await jsm.streams.getMessage(stream, { last_by_subj: subject }).catch(() => null);
      const count = Number(record?.string() ?? 0);
      if (!Number.isInteger(count) || count <= 0) return;
      const subscription = decodeToken(subject.slice(prefix.length).split('.')[0]);
      counts.set(subscription, (counts.get(subscription) ?? 0) + count);
    }),
  );
  return counts;
}
