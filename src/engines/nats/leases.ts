import { randomUUID } from 'node:crypto';
import { JetStreamApiError, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { encodeToken, type Naming } from './naming.ts';

/**
 * Partition ownership for key-ordered subscriptions, so each partition is handled by one process
 * at a time and a process may keep many events of it in flight (in-process key lanes) without
 * another process overtaking a key — Kafka's group assignment, on JetStream 2.9 primitives.
 *
 * Everything lives in the memory stream `<stream>_LEASES` whose `max_age` is the lease time:
 * - `<p>_lease.member.<subscription>.<runner>`: a heartbeat of every attached runner; the count of
 *   live ones gives each its fair share, ⌈partitions / members⌉.
 * - `<p>_lease.owner.<subscription>.<partition>`: `{ owner }`, written with compare-and-set
 *   (`Nats-Expected-Last-Subject-Sequence`). A free partition has no message (never taken, or its
 *   owner stopped renewing and the server aged it out) or a `{ owner: null }` tombstone.
 *
 * Every quarter of the lease time a runner renews what it owns (a failed compare-and-set means it
 * lost the partition: it stops at once), gives back what exceeds its share (after the events of
 * that partition it is handling are finished, the rest handed back to the server in order) and
 * takes free partitions up to its share. Expiry uses the server's clock only.
 *
 * Whether the last owner handed a partition back cleanly outlives the lease: the durable record
 * `<p>_dlq.owner.<subscription>.<partition>` says `holding` from acquisition to clean release. A
 * new owner that finds another's `holding` knows events may still be out with that process, and
 * starts only once it has them back: when that process says it returned them after losing the
 * lease (`<p>_dlq.handback.…`), or after the ack wait if it vanished.
 */
export interface LeaseManager {
  /** Releases every partition (after `revoke` drained it) and leaves the group. */
  close(): Promise<void>;
}

export interface LeaseOptions {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly naming: Naming;
  readonly subscription: string;
  readonly partitions: number;
  readonly ttlMs: number;
  /** The consumers' ack wait: how long events held by a vanished owner stay out. */
  readonly ackWaitMs: number;
  /** The partition is ours: start pulling it once `ready` resolves (see above). */
  readonly acquire: (partition: number, ready: Promise<void>) => void;
  /**
   * Stop pulling the partition; `lost` (someone else may own it already): hand back unstarted
   * events at once. Resolves once nothing of the partition runs here any more.
   */
  readonly revoke: (partition: number, lost: boolean) => Promise<void>;
  readonly onError: (error: Error) => void;
}

const WRONG_LAST_SEQUENCE = 10071;
/**
 * Margin on top of the computed time a vanished owner's events take to come back: the server's
 * redelivery timer and our renewal timer fire a little late (a few ms on a quiet server).
 */
const HANDBACK_SLACK_MS = 250;

export function leaseStreamName(naming: Naming): string {
  return `${naming.stream}_LEASES`;
}

export function leasePrefix(naming: Naming): string {
  return `${naming.prefix}_lease`;
}

export function startLeases(options: LeaseOptions): LeaseManager {
  const { js, jsm, naming, partitions } = options;
  const runner = randomUUID();
  const stream = leaseStreamName(naming);
  const sub = encodeToken(options.subscription);
  const memberSubject = `${leasePrefix(naming)}.member.${sub}.${runner}`;
  const ownerSubject = (partition: number) => `${leasePrefix(naming)}.owner.${sub}.${partition}`;
  const handoverSubject = (partition: number) => `${naming.dlqPrefix}.owner.${sub}.${partition}`;
  const handover = async (partition: number, state: 'holding' | 'released'): Promise<void> => {
    await js.publish(handoverSubject(partition), JSON.stringify({ owner: runner, state }));
  };
  const handbackSubject = (partition: number) => `${naming.dlqPrefix}.handback.${sub}.${partition}`;

  /**
   * Resolves once `previous` returned what it held of the partition, or its events timed out: it
   * renewed last at most a lease time before we took over, stopped (and with it the in-progress
   * acks of its events) within a renewal interval of that, so they are back an ack wait later.
   */
  const handedBack = async (partition: number, previous: string): Promise<void> => {
    const deadline = Date.now() + Math.max(0, options.ackWaitMs - options.ttlMs + renewMs) + HANDBACK_SLACK_MS;
    while (Date.now() < deadline && !closed) {
      const record = await jsm.streams.getMessage(naming.dlqStream, { last_by_subj: handbackSubject(partition) }).catch(() => null);
      if (record?.json<{ owner: string }>().owner === previous) return;
      await new Promise((resolve) => setTimeout(resolve, Math.min(250, Math.max(0, deadline - Date.now()))));
    }
  };
  /** Partitions we own → sequence of our last write of their owner record. */
  const owned = new Map<number, number>();
  const releasing = new Map<number, Promise<void>>();
  const offset = parseInt(runner.slice(0, 8), 16) % partitions;
  const renewMs = Math.max(100, Math.floor(options.ttlMs / 4));
  let closed = false;
  let ticking: Promise<void> = Promise.resolve();

  const write = async (partition: number, owner: string | null, expected: number): Promise<number | undefined> => {
    try {
      const ack = await js.publish(ownerSubject(partition), JSON.stringify({ owner }), { expect: { lastSubjectSequence: expected } });
      return ack.seq;
    } catch (error) {
      if (error instanceof JetStreamApiError && error.code === WRONG_LAST_SEQUENCE) return undefined;
      throw error;
    }
  };

  const lose = (partition: number): void => {
    owned.delete(partition);
    releasing.delete(partition);
    void options
      .revoke(partition, true)
      .then(() => js.publish(handbackSubject(partition), JSON.stringify({ owner: runner })))
      .catch(options.onError);
  };

  const release = (partition: number): Promise<void> => {
    const pending =
      releasing.get(partition) ??
      (async () => {
        await options.revoke(partition, false).catch(options.onError);
        await handover(partition, 'released').catch(options.onError);
        const sequence = owned.get(partition);
        if (sequence !== undefined) await write(partition, null, sequence).catch(options.onError);
        owned.delete(partition);
        releasing.delete(partition);
      })();
    releasing.set(partition, pending);
    return pending;
  };

  const tick = async (): Promise<void> => {
    await js.publish(memberSubject, '');
    for (const [partition, sequence] of [...owned]) {
      const renewed = await write(partition, runner, sequence);
      if (renewed === undefined) lose(partition);
      else owned.set(partition, renewed);
    }
    if (closed) return;
    const info = await jsm.streams.info(stream, { subjects_filter: `${leasePrefix(naming)}.member.${sub}.>` });
    const members = Math.max(1, Object.keys(info.state.subjects ?? {}).length);
    const share = Math.ceil(partitions / members);
    const keeping = [...owned.keys()].filter((p) => !releasing.has(p)).sort((a, b) => a - b);
    for (const partition of keeping.slice(share)) void release(partition);
    for (let i = 0; i < partitions && keeping.length < share; i++) {
      const partition = (offset + i) % partitions;
      if (owned.has(partition)) continue;
      const current = await jsm.streams.getMessage(stream, { last_by_subj: ownerSubject(partition) });
      const holder = current ? (current.json<{ owner: string | null }>().owner ?? null) : null;
      if (holder !== null) continue;
      const sequence = await write(partition, runner, current?.seq ?? 0);
      if (sequence === undefined) continue;
      owned.set(partition, sequence);
      keeping.push(partition);
      const last = (await jsm.streams.getMessage(naming.dlqStream, { last_by_subj: handoverSubject(partition) }))?.json<{ owner: string; state: string }>();
      await handover(partition, 'holding');
      // Closing meanwhile: `close` gives it back.
      if (!closed) options.acquire(partition, last?.state === 'holding' && last.owner !== runner ? handedBack(partition, last.owner) : Promise.resolve());
    }
  };

  const run = (): void => {
    ticking = ticking.then(() => (closed ? undefined : tick().catch(options.onError)));
  };
  const timer = setInterval(run, renewMs);
  timer.unref();
  run();

  return {
    async close() {
      closed = true;
      clearInterval(timer);
      await ticking;
      await Promise.all([...owned.keys()].map((partition) => release(partition)));
      await jsm.streams.purge(stream, { filter: memberSubject }).catch(options.onError);
    },
  };
}
