import { AckPolicy, DeliverPolicy, JetStreamApiError, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { CloudEvent } from '../../contracts/index.ts';
import type { DeadLetter } from '../../bus/kit/index.ts';
import { consumerName, decodeToken, dlqFilter, dlqSubject, type DlqArea, type Naming } from './naming.ts';
import { scan } from './scan.ts';

/** Retry state of an event that failed and waits for its next attempt. */
interface FailingRecord {
  readonly firstFailedAt: string;
  readonly lastFailedAt: string;
  readonly error: string;
  readonly attempts: number;
  /** When the next attempt is due (ms since the epoch); missing in records written before it was kept. */
  readonly retryAt?: number;
}

/** What a process taking over an event learns of its earlier attempts. */
export interface RetryState {
  /** Attempts failed so far (0 when the event has no retry state). */
  readonly attempts: number;
  /** When the next attempt is due (ms since the epoch), if known. */
  readonly retryAt?: number;
}

/** Per subscription, how many events are dead and how many wait for a retry. */
export interface DeadLetterCounts {
  readonly dead: ReadonlyMap<string, number>;
  readonly failing: ReadonlyMap<string, number>;
}

/**
 * Dead letters, retry state and the redelivery queue, in the stream `<stream>_DLQ` (one message
 * per subject, newest wins): `<p>_dlq.dead.<subscription>.<letter key>` holds a `DeadLetter`,
 * `….failing.…` the first/last failure of an event still being retried, `….redrive.…` a dead
 * letter sent back to its subscription (consumed by the durable `<subscription>__redrive`).
 * Everything lives on the server, so any process lists, counts, retries and discards. The letter
 * key is the event's identity, `source` + `id` (`letterKeyOf`), so two producers' events with one id
 * keep their own retry state and dead letters; retrying or discarding "by event id" takes every
 * dead letter of that id.
 */
/** The key of an event's retry state and dead letter: its identity, `["<source>","<id>"]`. */
export const letterKeyOf = (event: Pick<CloudEvent, 'source' | 'id'>): string => JSON.stringify([event.source, event.id]);

export interface DeadLetterStore {
  /** Letter keys (`letterKeyOf`) of the subscription's events with retry state: those that failed and wait for another attempt. */
  failingIds(subscription: string): Promise<Set<string>>;
  /** An event's (by letter key) failed attempts so far and when the next is due, e.g. after a restart or on another process. */
  retryState(subscription: string, letterKey: string): Promise<RetryState>;
  /** Notes a failed attempt that will be retried at `retryAt` (ms since the epoch); keeps the time of the first failure. */
  recordFailure(subscription: string, letterKey: string, error: string, attempts: number, retryAt: number): Promise<void>;
  /** The event succeeded (or its subscription was rewound): forget its retry state. */
  clearFailure(subscription: string, letterKey: string): Promise<void>;
  clearAllFailures(subscription: string): Promise<void>;
  /** Stores the dead letter; resolves once it is durable, so the message can then be terminated. */
  deadLetter(subscription: string, event: CloudEvent, error: string, attempts: number): Promise<void>;
  list(subscription: string, options?: { limit?: number; afterSequence?: number }): Promise<DeadLetter[]>;
  /** Moves dead letters (all, or every one whose event has this id) to the subscription's redelivery queue, in log order; resolves to how many. */
  retry(subscription: string, eventId?: string): Promise<number>;
  discard(subscription: string, eventId?: string): Promise<number>;
  /** Removes a handled message of the redelivery queue. */
  removeRedrive(sequence: number): Promise<void>;
  /** Creates the durable consumer of the subscription's redelivery queue when missing; returns its name. */
  ensureRedriveConsumer(subscription: string, ackWaitMs: number): Promise<string>;
  counts(): Promise<DeadLetterCounts>;
}

export function deadLetterStore(nc: NatsConnection, js: JetStreamClient, jsm: JetStreamManager, naming: Naming): DeadLetterStore {
  const stream = naming.dlqStream;
  // First failure times seen in this process; other processes' are read from the stream.
  const firstFailures = new Map<string, string>();
  const key = (subscription: string, eventId: string): string => `${subscription}\u0000${eventId}`;

  const lastRecord = async <T>(subject: string): Promise<T | undefined> => {
    const stored = await jsm.streams.getMessage(stream, { last_by_subj: subject });
    return stored ? (stored.json<T>() as T) : undefined;
  };

  const firstFailedAt = async (subscription: string, eventId: string): Promise<string | undefined> =>
    firstFailures.get(key(subscription, eventId)) ?? (await lastRecord<FailingRecord>(dlqSubject(naming, 'failing', subscription, eventId)))?.firstFailedAt;

  const purge = async (filter: string): Promise<number> => (await jsm.streams.purge(stream, { filter })).purged;

  const records = async (area: DlqArea, subscription: string): Promise<{ record: DeadLetter; sequence: number; subject: string }[]> => {
    const found: { record: DeadLetter; sequence: number; subject: string }[] = [];
    for await (const delivery of scan(nc, jsm, stream, { filter: dlqFilter(naming, area, subscription), start: 'all' })) {
      found.push({ record: JSON.parse(new TextDecoder().decode(delivery.data)) as DeadLetter, sequence: delivery.streamSequence, subject: delivery.subject });
    }
    return found;
  };
  /** The subscription's dead letters, or those whose event has id `eventId` (any source). */
  const deadOf = async (subscription: string, eventId?: string) =>
    (await records('dead', subscription)).filter(({ record }) => eventId === undefined || record.event.id === eventId);

  const countBySubscription = async (area: DlqArea): Promise<Map<string, number>> => {
    const areaPrefix = `${naming.dlqPrefix}.${area}.`;
    const info = await jsm.streams.info(stream, { subjects_filter: `${areaPrefix}>` });
    const counts = new Map<string, number>();
    for (const subject of Object.keys(info.state.subjects ?? {})) {
      const subscription = decodeToken(subject.slice(areaPrefix.length).split('.')[0]);
      counts.set(subscription, (counts.get(subscription) ?? 0) + 1);
    }
    return counts;
  };

  return {
    async failingIds(subscription) {
      const filter = dlqFilter(naming, 'failing', subscription);
      const info = await jsm.streams.info(stream, { subjects_filter: filter });
      return new Set(Object.keys(info.state.subjects ?? {}).map((subject) => decodeToken(subject.slice(filter.length - 1))));
    },
    async retryState(subscription, eventId) {
      const record = await lastRecord<FailingRecord>(dlqSubject(naming, 'failing', subscription, eventId));
      return record ? { attempts: record.attempts, ...(typeof record.retryAt === 'number' ? { retryAt: record.retryAt } : {}) } : { attempts: 0 };
    },
    async recordFailure(subscription, eventId, error, attempts, retryAt) {
      const now = new Date().toISOString();
      const first = (await firstFailedAt(subscription, eventId)) ?? now;
      firstFailures.set(key(subscription, eventId), first);
      const record: FailingRecord = { firstFailedAt: first, lastFailedAt: now, error, attempts, retryAt };
      await js.publish(dlqSubject(naming, 'failing', subscription, eventId), JSON.stringify(record));
    },
    async clearFailure(subscription, eventId) {
      firstFailures.delete(key(subscription, eventId));
      await purge(dlqSubject(naming, 'failing', subscription, eventId));
    },
    async clearAllFailures(subscription) {
      for (const k of firstFailures.keys()) if (k.startsWith(`${subscription}\u0000`)) firstFailures.delete(k);
      await purge(dlqFilter(naming, 'failing', subscription));
    },
    async deadLetter(subscription, event, error, attempts) {
      const now = new Date().toISOString();
      const letterKey = letterKeyOf(event);
      const record: DeadLetter = { subscription, event, error, attempts, firstFailedAt: (await firstFailedAt(subscription, letterKey)) ?? now, lastFailedAt: now };
      await js.publish(dlqSubject(naming, 'dead', subscription, letterKey), JSON.stringify(record));
      await this.clearFailure(subscription, letterKey);
    },
    async list(subscription, options = {}) {
      const after = options.afterSequence ?? 0;
      const letters = (await records('dead', subscription)).map(({ record }) => record).filter((letter) => letter.event.sequence > after);
      letters.sort((a, b) => a.event.sequence - b.event.sequence);
      return letters.slice(0, Math.min(1_000, Math.max(1, Math.floor(options.limit ?? 100))));
    },
    async retry(subscription, eventId) {
      const letters = await deadOf(subscription, eventId);
      // In log order: the dead-letter stream holds them in the order they died, and a dead letter
      // retried alone and dead again is the newest there though it may be the oldest event.
      letters.sort((a, b) => a.record.event.sequence - b.record.event.sequence);
      for (const { record, sequence, subject } of letters) {
        await js.publish(dlqSubject(naming, 'redrive', subscription, letterKeyOf(record.event)), JSON.stringify(record));
        // Only up to this record: the redriven event may already have failed again in some
        // process, and that newer dead letter must stay.
        await jsm.streams.purge(stream, { filter: subject, seq: sequence + 1 });
      }
      return letters.length;
    },
    async discard(subscription, eventId) {
      if (eventId === undefined) return await purge(dlqFilter(naming, 'dead', subscription));
      let purged = 0;
      for (const { subject } of await deadOf(subscription, eventId)) purged += await purge(subject);
      return purged;
    },
    async removeRedrive(sequence) {
      await jsm.streams.deleteMessage(stream, sequence, false).catch((error: unknown) => {
        if (!(error instanceof JetStreamApiError && error.status === 404)) throw error;
      });
    },
    async ensureRedriveConsumer(subscription, ackWaitMs) {
      const name = consumerName(subscription, { kind: 'redrive' });
      try {
        await jsm.consumers.info(stream, name);
      } catch {
        await jsm.consumers.add(stream, {
          durable_name: name,
          description: JSON.stringify({ flamingo: 1, subscription, role: 'redrive' }),
          filter_subject: dlqFilter(naming, 'redrive', subscription),
          deliver_policy: DeliverPolicy.All,
          ack_policy: AckPolicy.Explicit,
          ack_wait: ackWaitMs * 1_000_000,
          max_deliver: -1,
        });
      }
      return name;
    },
    async counts() {
      const [dead, failing] = await Promise.all([countBySubscription('dead'), countBySubscription('failing')]);
      return { dead, failing };
    },
  };
}
