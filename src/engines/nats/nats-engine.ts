/**
 * The NATS JetStream engine: the bus log on a JetStream stream, so Flamingo runs on several
 * machines (DESIGN.md "Runtime", "Bus semantics").
 *
 * Layout: events go to the file-backed stream `FLAMINGO` on subjects `<prefix>.<partition>.<type>`
 * (partition = FNV-1a of `partitionkey ?? id` modulo the stream's partition count, stored in the
 * stream's description); the event's identity (`source` + `id`, hashed) is the `Nats-Msg-Id`, so
 * the server's duplicate window (default 2 min) turns a second publish of an event into
 * `duplicate: true` with the original sequence (or an `IdentityConflictError` when its content
 * differs, append.ts). Outside that window the same event would be stored again — keep the window
 * longer than any producer's retry horizon. Dead letters, retry state and the redelivery queue live in
 * `FLAMINGO_DLQ` (dead-letters.ts), partition leases in the memory stream `FLAMINGO_LEASES`
 * (leases.ts); subscriptions are durable pull consumers (consumers.ts) worked by one feed per
 * subscription and process (subscription-feed.ts) under the bus kit's subscription runner.
 *
 * Ordering across processes: a key-ordered subscription has one consumer per partition, and a
 * partition is pulled by the one process that leases it; processes share the partitions evenly
 * and hand them over cleanly (running events finish, the rest go back in log order). In a process
 * the bus kit's subscription runner gives the same semantics as the SQLite engine: per-key order,
 * other keys in parallel, a retry holds back its key only. Order across keys holds within a
 * partition only — with `partitions: 1` one process works the subscription (others stand by)
 * and sees the whole log in order. A process that vanishes leaves its partitions after the lease
 * time and its unfinished events after the ack wait; the next owner waits for those first.
 *
 * Durability: `append` resolves on the stream's publish acknowledgement. JetStream acknowledges
 * once the message is written to the stream's file — and, with `replicas` > 1, stored by a quorum
 * of servers — but not fsync'd: the server flushes to disk on an interval. On 2.10+ the server
 * option `jetstream { sync_interval: always }` (alias `sync`; default `2m`) fsyncs every write
 * before the acknowledgement, at a large cost in throughput. Server 2.9 has no such option (it
 * rejects `sync_interval` as an unknown field) and syncs on its own timer. So with one server
 * and the defaults, an acknowledged event survives a crash of the server process but can be lost
 * to a power cut or kernel crash; use `replicas: 3` (quorum on three machines) and/or
 * `sync_interval: always` where that matters. SQLite with `synchronous=FULL` is stricter here.
 *
 * Batches: 2.9 has no atomic batch publish; `append` pipelines and resends until every event is
 * acknowledged, else rejects with `PartialAppendError` (see append.ts) — idempotent rather than
 * atomic. Events of one batch may interleave with a concurrent producer's.
 *
 * Servers: written for 2.9 and later; several type filters on one consumer are used only when the
 * server has them (2.10+), otherwise a consumer filters in process and `lag` counts the other
 * types of its partitions too.
 */
import { jetstream, jetstreamManager, type ConsumerInfo, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { CloudEvent, UnstoredEvent } from '../../contracts/index.ts';
import {
  EngineClosedError,
  InvalidOptionsError,
  integerOption,
  runningSubscriptions,
  type DeadLetter,
  type Deliver,
  type Engine,
  type Position,
  type PublishResult,
  type ReadQuery,
  type ResolvedSubscriptionOptions,
  type Subscription,
  type SubscriptionInfo,
} from '../../bus/kit/index.ts';
import { appendEvents } from './append.ts';
import { assertSubscription, countSince, ensureSubscriptionConsumers, listSubscriptionConsumers, parseDescription, rewindSubscription, type ConsumerContext } from './consumers.ts';
import { deadLetterStore, type DeadLetterStore } from './dead-letters.ts';
import { namingFor, type Naming } from './naming.ts';
import { countConsumers } from './presence.ts';
import { readEvents } from './read.ts';
import { ensureStreams } from './streams.ts';
import { startFeed, type SubscriptionFeed } from './subscription-feed.ts';

export interface NatsEngineOptions {
  /** NATS server URL(s). (Default: `nats://127.0.0.1:4222`) */
  readonly servers?: string | readonly string[];
  /** Use this connection instead of opening one; `close()` then leaves it open. */
  readonly connection?: NatsConnection;
  /** Event stream name; the dead-letter stream is `<stream>_DLQ`. (Default: `FLAMINGO`) */
  readonly stream?: string;
  /** Subject prefix of events. (Default: the stream name in lower case) */
  readonly subjectPrefix?: string;
  /**
   * Partitions of a new stream: how many processes can share a key-ordered subscription (each
   * partition is worked by one process at a time). Order across different keys holds only within
   * a partition; `1` keeps the whole log in order for one active process per subscription. Fixed
   * at creation: an existing stream keeps its count and a different explicit value is refused.
   * (Default: 16)
   */
  readonly partitions?: number;
  /** Stream replicas (1, 3 or 5 on a cluster). (Default: 1) */
  readonly replicas?: number;
  /** How long the server remembers event ids for deduplication. (Default: 120 000 ms) */
  readonly duplicateWindowMs?: number;
  /** Drop events older than this; 0 keeps them forever. (Default: 0) */
  readonly maxAgeMs?: number;
  /**
   * How long the server waits for an ack before redelivering to another process, 1 000–300 000 ms.
   * Held events are kept alive with in-progress acks (`+WPI`) every third of it, so in normal
   * operation nothing is redelivered however long a handler runs or an event waits for a retry;
   * it only bounds recovery after a crash: a vanished process's unfinished events come back about
   * `ackWaitMs` after it stopped. An event loop blocked for more than two thirds of it lets the
   * server redeliver events still held here. (Default: 2 500 ms)
   */
  readonly ackWaitMs?: number;
  /** Wait for one publish acknowledgement. (Default: 5 000 ms) */
  readonly publishTimeoutMs?: number;
  /** Keep resending unacknowledged events of an `append` this long before rejecting. (Default: 10 000 ms) */
  readonly appendRetryMs?: number;
  /**
   * Lifetime of one pull request on the server, at least 1 000 ms and less than two thirds of
   * `ackWaitMs`. A killed process's pull requests outlive it on the server until they expire, and
   * nats-server 2.9 hands a redelivered message to such a request (where it is lost until the next
   * ack wait, and a later event of its key overtakes it): they must be gone before the dead
   * process's events come back. (Default: half of `ackWaitMs`, at least 1 000 ms)
   */
  readonly pullExpiresMs?: number;
  /**
   * How long a process keeps a partition of a key-ordered subscription without renewing it,
   * 1 000–60 000 ms (renewed every quarter of it): after a crash, its partitions move to other
   * processes at most `leaseTtlMs` + a quarter of it later, and their first events are the ones it
   * left unfinished, back after the ack wait. A survivor has taken over a SIGKILLed process's
   * partitions at worst `1.25 × leaseTtlMs + max(0, ackWaitMs − 0.75 × leaseTtlMs) + 250 ms` after
   * the kill: 4.25 s with the defaults. A process whose renewals stall longer than it (a blocked
   * event loop) loses its partitions. (Default: 3 000 ms)
   */
  readonly leaseTtlMs?: number;
  /** Problems the engine recovers from on its own (a pull failed, a dead letter not yet stored). (Default: ignored) */
  readonly onError?: (error: Error) => void;
}

const DEFAULT_PARTITIONS = 16;
/** Fail-over under 5 s by default (see `leaseTtlMs`). */
export const DEFAULT_LEASE_TTL_MS = 3_000;
export const DEFAULT_ACK_WAIT_MS = 2_500;
/** Checked bounds of the two fail-over settings (ms). */
export const LEASE_TTL_BOUNDS = [1_000, 60_000] as const;
export const ACK_WAIT_BOUNDS = [1_000, 300_000] as const;

/**
 * The JetStream engine. Returns at once; the connection and the streams are set up in the
 * background and every call waits for that (a server that cannot be reached fails the call).
 */
export function natsEngine(options: NatsEngineOptions = {}): Engine {
  return new NatsEngine(options);
}

interface Core {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly js: JetStreamClient;
  readonly partitions: number;
  readonly multipleFilters: boolean;
  readonly consumers: ConsumerContext;
  readonly store: DeadLetterStore;
}

class NatsEngine implements Engine {
  readonly name = 'nats';
  readonly #naming: Naming;
  readonly #settings: { ackWaitMs: number; publishTimeoutMs: number; appendRetryMs: number; pullExpiresMs: number; leaseTtlMs: number };
  readonly #onError: (error: Error) => void;
  readonly #ownsConnection: boolean;
  readonly #core: Promise<Core>;
  readonly #running = runningSubscriptions<SubscriptionFeed>();
  #closed = false;

  constructor(options: NatsEngineOptions) {
    this.#naming = namingFor(options.stream ?? 'FLAMINGO', options.subjectPrefix);
    if (options.partitions !== undefined && (!Number.isInteger(options.partitions) || options.partitions < 1 || options.partitions > 1024)) {
      throw new InvalidOptionsError(`partitions must be an integer from 1 to 1024, got ${options.partitions}`);
    }
    const stream = {
      partitions: options.partitions,
      defaultPartitions: DEFAULT_PARTITIONS,
      replicas: integerOption('replicas', options.replicas, 1, 0),
      duplicateWindowMs: integerOption('duplicateWindowMs', options.duplicateWindowMs, 120_000, 0),
      maxAgeMs: integerOption('maxAgeMs', options.maxAgeMs, 0, 0),
      leaseTtlMs: integerOption('leaseTtlMs', options.leaseTtlMs, DEFAULT_LEASE_TTL_MS, ...LEASE_TTL_BOUNDS),
    };
    this.#settings = {
      ackWaitMs: integerOption('ackWaitMs', options.ackWaitMs, DEFAULT_ACK_WAIT_MS, ...ACK_WAIT_BOUNDS),
      publishTimeoutMs: integerOption('publishTimeoutMs', options.publishTimeoutMs, 5_000, 0),
      appendRetryMs: integerOption('appendRetryMs', options.appendRetryMs, 10_000, 0),
      pullExpiresMs: 0,
      leaseTtlMs: integerOption('leaseTtlMs', options.leaseTtlMs, DEFAULT_LEASE_TTL_MS, ...LEASE_TTL_BOUNDS),
    };
    const pullBound = Math.floor((2 * this.#settings.ackWaitMs) / 3);
    this.#settings.pullExpiresMs = integerOption('pullExpiresMs', options.pullExpiresMs, Math.max(1_000, Math.floor(this.#settings.ackWaitMs / 2)), 1_000, Math.max(1_000, pullBound - 1));
    this.#onError = options.onError ?? (() => undefined);
    this.#ownsConnection = options.connection === undefined;
    this.#core = this.#setUp(options, stream);
    // Reported to whoever calls first, not as an unhandled rejection.
    this.#core.catch(() => undefined);
  }

  async #setUp(options: NatsEngineOptions, stream: Parameters<typeof ensureStreams>[2]): Promise<Core> {
    const servers = options.servers ?? 'nats://127.0.0.1:4222';
    // No async traces: nats.js would otherwise build an Error (with its stack) for every publish
    // and request, about a third of the publish CPU; errors still carry the message and code.
    const nc =
      options.connection ??
      (await connect({ servers: typeof servers === 'string' ? servers : [...servers], name: `flamingo ${this.#naming.stream}`, noAsyncTraces: true }));
    try {
      const jsm = await jetstreamManager(nc);
      const js = jetstream(nc);
      const { partitions } = await ensureStreams(jsm, this.#naming, stream);
      const multipleFilters = (nc.info?.version ?? '0.0.0').localeCompare('2.10.0', undefined, { numeric: true }) >= 0;
      const consumers: ConsumerContext = {
        jsm,
        naming: this.#naming,
        partitions,
        multipleFilters,
        ackWaitMs: this.#settings.ackWaitMs,
        head: async () => (await jsm.streams.info(this.#naming.stream)).state.last_seq,
      };
      return { nc, jsm, js, partitions, multipleFilters, consumers, store: deadLetterStore(nc, js, jsm, this.#naming) };
    } catch (error) {
      if (this.#ownsConnection) await nc.close();
      throw error;
    }
  }

  async #ready(): Promise<Core> {
    if (this.#closed) throw new EngineClosedError(this.name);
    return await this.#core;
  }

  async append(events: readonly UnstoredEvent[]): Promise<PublishResult[]> {
    const core = await this.#ready();
    if (events.length === 0) return [];
    return await appendEvents(core.js, core.jsm, events, { naming: this.#naming, partitions: core.partitions, publishTimeoutMs: this.#settings.publishTimeoutMs, retryForMs: this.#settings.appendRetryMs });
  }

  async read(query: ReadQuery): Promise<CloudEvent[]> {
    const core = await this.#ready();
    return await readEvents({ nc: core.nc, jsm: core.jsm, naming: this.#naming, multipleFilters: core.multipleFilters }, query);
  }

  async head(): Promise<number> {
    return await (await this.#ready()).consumers.head();
  }

  async consume(options: ResolvedSubscriptionOptions, deliver: Deliver): Promise<Subscription> {
    const core = await this.#ready();
    return await this.#running.attach(options, deliver, (resolved) => this.#startFeed(core, resolved));
  }

  async #startFeed(core: Core, options: ResolvedSubscriptionOptions): Promise<SubscriptionFeed> {
    await ensureSubscriptionConsumers(core.consumers, options);
    await core.store.ensureRedriveConsumer(options.name, this.#settings.ackWaitMs);
    return startFeed(
      {
        nc: core.nc,
        js: core.js,
        jsm: core.jsm,
        naming: this.#naming,
        partitions: core.partitions,
        store: core.store,
        ackWaitMs: this.#settings.ackWaitMs,
        pullExpiresMs: this.#settings.pullExpiresMs,
        leaseTtlMs: this.#settings.leaseTtlMs,
        onError: this.#onError,
      },
      options,
    );
  }

  async subscriptions(): Promise<SubscriptionInfo[]> {
    const core = await this.#ready();
    const head = await core.consumers.head();
    const [bySubscription, counts, attached] = await Promise.all([listSubscriptionConsumers(core.consumers), core.store.counts(), countConsumers(core.jsm, this.#naming)]);
    const infos: SubscriptionInfo[] = [];
    for (const [name, consumers] of bySubscription) {
      const retrying = counts.failing.get(name) ?? 0;
      const description = parseDescription(consumers[0]);
      // Done up to: everything, for an idle consumer; else just before its first message not yet done.
      const position = Math.min(
        ...(await Promise.all(
          consumers.map((c) => (c.num_pending === 0 && c.num_ack_pending === 0 ? Math.max(head, c.ack_floor.stream_seq) : this.#doneBefore(core, c))),
        )),
      );
      const pending = consumers.reduce((sum, c) => sum + c.num_pending, 0);
      const unacked = consumers.reduce((sum, c) => sum + c.num_ack_pending, 0);
      const types = description?.types ?? [];
      // Recorded less than the delay ago: not done, the newest of what is not done. Those not yet
      // fetched are pending on the server; the rest are held by some process, waiting.
      const delayMs = description?.delayMs ?? 0;
      const scheduled = delayMs > 0 && pending + unacked > 0 ? Math.min(pending + unacked, await countSince(core.consumers, types, new Date(Date.now() - delayMs))) : 0;
      infos.push({
        name,
        types,
        position,
        lag: pending + unacked - scheduled,
        inFlight: Math.max(0, unacked - retrying - Math.max(0, scheduled - pending)),
        retrying,
        deadLetters: counts.dead.get(name) ?? 0,
        scheduled,
        consumers: attached.get(name) ?? 0,
      });
    }
    return infos.sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * The sequence below which a busy consumer is done. Its ack floor alone can lag far behind: a
   * filtered consumer that has acked none of its own messages keeps the floor at its start, though
   * every event of other partitions or types after it is no business of its own.
   */
  async #doneBefore(core: Core, consumer: ConsumerInfo): Promise<number> {
    const floor = consumer.ack_floor.stream_seq;
    const filters = consumer.config.filter_subject ? [consumer.config.filter_subject] : (consumer.config.filter_subjects ?? []);
    const firsts = await Promise.all(
      filters.map((filter) =>
        core.jsm.direct
          .getMessage(this.#naming.stream, { seq: floor + 1, next_by_subj: filter })
          .then((message) => message?.seq ?? Number.POSITIVE_INFINITY)
          .catch(() => floor + 1),
      ),
    );
    const first = Math.min(...firsts);
    return Number.isFinite(first) ? first - 1 : floor;
  }

  async rewind(subscription: string, to: Position): Promise<void> {
    const core = await this.#ready();
    const feed = await this.#running.whenRunning(subscription);
    await feed?.pause();
    try {
      await rewindSubscription(core.consumers, subscription, to);
      await core.store.clearAllFailures(subscription);
    } finally {
      feed?.resume();
    }
  }

  async deadLetters(subscription: string, options?: { limit?: number; afterSequence?: number }): Promise<DeadLetter[]> {
    const core = await this.#ready();
    await assertSubscription(core.consumers, subscription);
    return await core.store.list(subscription, options);
  }

  async retryDeadLetters(subscription: string, eventId?: string): Promise<number> {
    const core = await this.#ready();
    await assertSubscription(core.consumers, subscription);
    return await core.store.retry(subscription, eventId);
  }

  async discardDeadLetters(subscription: string, eventId?: string): Promise<number> {
    const core = await this.#ready();
    await assertSubscription(core.consumers, subscription);
    return await core.store.discard(subscription, eventId);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#running.closeAll();
    const core = await this.#core.catch(() => undefined);
    if (core && this.#ownsConnection) await core.nc.close();
  }
}

