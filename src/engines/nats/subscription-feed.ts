import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { CloudEvent } from '../../contracts/index.ts';
import {
  createSubscriptionRunner,
  matchesTypes,
  type DeadLetter,
  type ResolvedSubscriptionOptions,
  type RunnerItem,
  type SubscriptionRunner,
  type SubscriptionStorage,
} from '../../bus/kit/index.ts';
import { letterKeyOf, type DeadLetterStore } from './dead-letters.ts';
import type { Delivery } from './delivery.ts';
import { toCloudEvent } from './event-codec.ts';
import { startLeases, type LeaseManager } from './leases.ts';
import { startPresence, type ConsumerPresence } from './presence.ts';
import { consumerName, typeOfSubject, type Naming } from './naming.ts';
import { createPullLane, type PullLane } from './pull-lane.ts';

export interface FeedContext {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly naming: Naming;
  readonly partitions: number;
  readonly store: DeadLetterStore;
  readonly ackWaitMs: number;
  readonly pullExpiresMs: number;
  readonly leaseTtlMs: number;
  readonly onError: (error: Error) => void;
}

/**
 * The NATS half of one subscription running in this process (the kit's `SubscriptionRunner` is the
 * other, shared with every engine): every `consume` of one name attaches to its runner. See `startFeed`.
 */
export interface SubscriptionFeed {
  readonly runner: SubscriptionRunner<Item>;
  /** Drops everything held and stops pulling (the consumers are about to be recreated by a rewind). */
  pause(): Promise<void>;
  resume(): void;
}

/** Where a message came from: a partition consumer, the unordered consumer, or the redelivery queue. */
interface Source {
  readonly id: string;
  readonly stream: string;
  readonly consumer: string;
  readonly redrive: boolean;
  readonly lane: PullLane;
  readonly items: Set<Item>;
  /** Arrivals in order; a redelivered event first looks up its attempts. */
  arrivals: Promise<void>;
  running: number;
  drained?: () => void;
  revoked: boolean;
}

interface Item extends RunnerItem {
  readonly source: Source;
  readonly delivery: Delivery;
  readonly event: CloudEvent;
  readonly unreadable: boolean;
  /** Counted in `source.running` (handed to a handler, outcome not settled yet). */
  counted: boolean;
  waitingRetry: boolean;
  state: 'held' | 'running' | 'gone';
}

/** How far past a retrying key a process looks for other keys' events. */
const LOOKAHEAD = 1_000;

/**
 * Pulls the subscription's messages in this process into the kit's runner, which hands them to
 * the attached handlers as on every engine: events of one key in log order, different keys in
 * parallel up to the concurrency, a retrying event waits in process and holds back only its key,
 * batches span keys. What makes that safe across processes: `ordering: 'key'` pulls only the
 * partitions this process leases (leases.ts); `'none'` pulls the one shared consumer freely. Held
 * messages get `+WPI` every third of the ack wait; the attempt count and first failure of a
 * retrying event are kept on the server (dead-letters.ts), so they survive a restart or a move to
 * another process.
 */
export function startFeed(ctx: FeedContext, options: ResolvedSubscriptionOptions): SubscriptionFeed {
  const { naming, store } = ctx;
  const sources = new Map<string, Source>();
  const ownedPartitions = new Set<number>();
  const retryingKeys = new Map<string, number>();
  const heldByKey = new Map<string, number>();
  /** Events of this subscription with retry state on the server, as far as this process knows. */
  const failing = new Set<string>();
  let held = 0;
  let waitingRetry = 0;
  let paused = false;
  let stopping = false;

  const accountKey = (item: Item): string => item.key ?? item.event.id;

  /** How many more messages this process takes: its concurrency, plus whatever waits behind retries. */
  const room = (): number => {
    let parked = 0;
    if (options.ordering === 'key') for (const key of retryingKeys.keys()) parked += heldByKey.get(key) ?? 0;
    else parked = waitingRetry;
    const budget = runner.capacity * options.maxBatchSize;
    return Math.max(0, Math.min(budget - (held - parked), budget + LOOKAHEAD - held));
  };
  const pumpAll = (): void => {
    for (const source of sources.values()) source.lane.pump();
  };

  const heartbeat = setInterval(() => {
    for (const source of sources.values()) for (const item of source.items) item.delivery.working();
  }, Math.max(500, Math.floor(ctx.ackWaitMs / 3)));
  heartbeat.unref();

  // ── Sources ────────────────────────────────────────────────────────────────────────────────

  function openSource(id: string, stream: string, consumer: string, redrive: boolean): void {
    if ((sources.has(id) && !sources.get(id)?.revoked) || paused || stopping) return;
    const source: Source = {
      id,
      stream,
      consumer,
      redrive,
      items: new Set(),
      // A partition that moved here may hold events another process was retrying.
      arrivals: store.failingIds(options.name).then(
        (ids) => ids.forEach((id) => failing.add(id)),
        (error: Error) => ctx.onError(error),
      ),
      running: 0,
      revoked: false,
      lane: createPullLane({ nc: ctx.nc, stream, consumer, room, expiresMs: ctx.pullExpiresMs, onDelivery: (delivery) => arrive(source, delivery), onError: ctx.onError }),
    };
    sources.set(id, source);
  }

  const openPartition = (partition: number): void => openSource(`p${partition}`, naming.stream, consumerName(options.name, { kind: 'partition', partition }), false);

  function openAll(): void {
    openSource('redrive', naming.dlqStream, consumerName(options.name, { kind: 'redrive' }), true);
    if (options.ordering === 'none') openSource('all', naming.stream, consumerName(options.name, { kind: 'all' }), false);
    else for (const partition of ownedPartitions) openPartition(partition);
  }

  /**
   * Stops pulling from a source and gives its messages back in log order, resolving once none of
   * them runs here any more. Nothing is nak'd before the source's pull requests are closed and
   * the server has forgotten them: nats-server 2.9 loses the first message it takes from its
   * redelivery queue for a waiting request whose inbox is gone (out of reach until the ack wait,
   * and a later event of its key overtakes it), until something prunes such requests — a
   * consumer info does. Normally it first lets the running events finish, so no later event of
   * a key is handed back (and taken by another process) while an earlier one still runs here;
   * `lost` (another process may own it already): hands back at once the waiting ones of keys with
   * nothing running here.
   *
   * Every message goes back without a delay, a retrying one too: the server redelivers what is
   * handed back before anything newer, in the order handed back, but keeps a message nak'd with a
   * delay aside until then, and whoever pulls next would get the later events of its key first.
   * The retry's due time travels in its retry state instead (`recordFailure`), which the next
   * owner reads on arrival, so the event waits there, holding back its key.
   */
  async function revoke(source: Source, lost: boolean): Promise<void> {
    source.revoked = true;
    await source.lane.close();
    await source.arrivals;
    if (source.items.size > 0) await ctx.jsm.consumers.info(source.stream, source.consumer).catch(() => undefined);
    const handBack = (keep: ReadonlySet<string> = new Set()) => {
      const rest = [...source.items].filter((item) => item.state === 'held' && !keep.has(accountKey(item))).sort((a, b) => a.delivery.streamSequence - b.delivery.streamSequence);
      for (const item of rest) {
        item.delivery.nak();
        finish(item);
      }
    };
    if (lost) handBack(new Set([...source.items].filter((item) => item.state === 'running').map(accountKey)));
    if (source.running > 0) await new Promise<void>((resolve) => (source.drained = resolve));
    handBack();
    if (sources.get(source.id) === source) sources.delete(source.id);
  }

  // ── Arrivals ───────────────────────────────────────────────────────────────────────────────

  function arrive(source: Source, delivery: Delivery): void {
    // Also after `revoke` began: it hands the message back with the rest, in order, at the right time.
    source.arrivals = source.arrivals.then(async () => {
      const { event, unreadable } = decode(source, delivery);
      // The server's delivery count is no attempt count (a hand-back on close is a delivery too, and
      // 2.9 does not always count them): retry state on the server is, with the retry's due time.
      const retry =
        delivery.deliveryCount === 1 && !failing.has(letterKeyOf(event))
          ? { attempts: 0 }
          : await store.retryState(options.name, letterKeyOf(event)).then(
              (state) => state,
              () => ({ attempts: delivery.deliveryCount - 1 }),
            );
      const readyAt = source.redrive ? 0 : delivery.storedAtMs + options.delayMs;
      const item: Item = {
        source,
        delivery,
        event,
        unreadable,
        // Dead letters sent back keep their key: one at a time, in the order they come back (log order).
        key: event.partitionkey,
        readyAt: Math.max(readyAt, retry.retryAt ?? 0),
        attempts: retry.attempts,
        counted: false,
        waitingRetry: false,
        state: 'held',
      };
      source.items.add(item);
      held += 1;
      heldByKey.set(accountKey(item), (heldByKey.get(accountKey(item)) ?? 0) + 1);
      // Waiting for a retry that another owner (or this one, before a hand-back) scheduled: parked as
      // one retrying here would be, so it does not use up the room for other keys.
      if ((retry.retryAt ?? 0) > Date.now()) setWaitingRetry(item, true);
      runner.push(item);
    });
  }

  function decode(source: Source, delivery: Delivery): { event: CloudEvent; unreadable: boolean } {
    try {
      const event = source.redrive ? (JSON.parse(new TextDecoder().decode(delivery.data)) as DeadLetter).event : toCloudEvent(delivery);
      if (typeof event?.id !== 'string' || typeof event.type !== 'string') throw new Error('not an event');
      return { event, unreadable: false };
    } catch {
      const recorded = new Date(delivery.storedAtMs).toISOString();
      const event: CloudEvent = {
        specversion: '1.0',
        id: `unreadable-${delivery.streamSequence}`,
        source: '/flamingo',
        type: source.redrive ? 'unreadable' : typeOfSubject(naming, delivery.subject),
        time: recorded,
        datacontenttype: 'application/json',
        data: new TextDecoder().decode(delivery.data),
        sequence: delivery.streamSequence,
        recordedtime: recorded,
      };
      return { event, unreadable: true };
    }
  }

  function setWaitingRetry(item: Item, value: boolean): void {
    if (item.waitingRetry === value) return;
    item.waitingRetry = value;
    waitingRetry += value ? 1 : -1;
    const key = accountKey(item);
    const count = (retryingKeys.get(key) ?? 0) + (value ? 1 : -1);
    if (count > 0) retryingKeys.set(key, count);
    else retryingKeys.delete(key);
  }

  function finish(item: Item): void {
    if (item.state === 'gone') return;
    setWaitingRetry(item, false);
    item.state = 'gone';
    item.source.items.delete(item);
    held -= 1;
    const key = accountKey(item);
    const count = (heldByKey.get(key) ?? 1) - 1;
    if (count > 0) heldByKey.set(key, count);
    else heldByKey.delete(key);
  }

  // ── SubscriptionStorage: outcomes kept on the server ──────────────────────────────────────

  /** A running item's outcome is settled: its source may be waiting for it to hand back the rest. */
  function settled(item: Item): void {
    if (!item.counted) return;
    item.counted = false;
    if (item.state === 'running') item.state = 'held';
    item.source.running -= 1;
    if (item.source.running === 0) item.source.drained?.();
  }

  const gone = (item: Item): boolean => item.state === 'gone';

  async function deadLetter(item: Item, error: string, attempts: number): Promise<void> {
    failing.delete(letterKeyOf(item.event));
    try {
      await store.deadLetter(options.name, item.event, error, attempts);
      item.delivery.term();
      if (item.source.redrive) await store.removeRedrive(item.delivery.streamSequence).catch(ctx.onError);
    } catch (failure) {
      // Not recorded: let the server bring it back rather than lose it.
      ctx.onError(failure as Error);
      item.delivery.nak(1_000);
    }
    finish(item);
  }

  const storage: SubscriptionStorage<Item> = {
    screen(item) {
      setWaitingRetry(item, false);
      // Revoked: stays held, and `revoke` hands it back with the rest of its key, in order.
      if (item.state === 'gone' || item.source.revoked) return undefined;
      if (item.unreadable) return deadLetter(item, 'unreadable message: not a JSON CloudEvent', item.attempts + 1).then(() => undefined);
      if (!item.source.redrive && !matchesTypes(options.types, item.event.type)) {
        // Only on servers without several filter subjects, where a consumer sees its whole partition.
        item.delivery.ack();
        finish(item);
        return undefined;
      }
      return 'deliver';
    },
    started(items) {
      for (const item of items) {
        item.state = 'running';
        item.counted = true;
        item.source.running += 1;
      }
    },
    async ack(item) {
      if (!gone(item)) {
        item.delivery.ack();
        finish(item);
        failing.delete(letterKeyOf(item.event));
        if (item.source.redrive) await store.removeRedrive(item.delivery.streamSequence).catch(ctx.onError);
        if (item.attempts > 1 || item.source.redrive) await store.clearFailure(options.name, letterKeyOf(item.event)).catch(ctx.onError);
      }
      settled(item);
    },
    giveBack(item, at) {
      // As a retry, without its failure: nothing is recorded on the server. Its source revoked
      // meanwhile: `revoke` hands it back right behind the failed event of its key, which it
      // follows wherever that goes next.
      let again: number | undefined;
      if (gone(item) || item.source.revoked) again = undefined;
      else {
        setWaitingRetry(item, true);
        again = at;
      }
      settled(item);
      return again;
    },
    async retry(item, verdict) {
      if (!gone(item)) {
        failing.add(letterKeyOf(item.event));
        await store.recordFailure(options.name, letterKeyOf(item.event), verdict.error, verdict.attempts, verdict.at).catch(ctx.onError);
      }
      let again: number | undefined;
      // Its source was revoked meanwhile: `revoke` hands it back, and its next owner waits until `verdict.at`.
      if (gone(item) || item.source.revoked) again = undefined;
      else {
        setWaitingRetry(item, true);
        again = verdict.at;
      }
      settled(item);
      return again;
    },
    async dead(item, verdict) {
      if (!gone(item)) await deadLetter(item, verdict.error, verdict.attempts);
      settled(item);
    },
    unitDone: pumpAll,
  };

  const presence: ConsumerPresence = startPresence({
    js: ctx.js,
    jsm: ctx.jsm,
    naming,
    subscription: options.name,
    ttlMs: ctx.leaseTtlMs,
    count: () => runner.consumers,
    onError: ctx.onError,
  });
  const runner: SubscriptionRunner<Item> = createSubscriptionRunner<Item>({
    options,
    storage,
    onCapacity: () => {
      pumpAll();
      presence.update();
    },
    onStop: () => stop(),
  });

  // ── Ownership and lifecycle ─────────────────────────────────────────────────────────────────

  const leases: LeaseManager | undefined =
    options.ordering === 'key'
      ? startLeases({
          js: ctx.js,
          jsm: ctx.jsm,
          naming,
          subscription: options.name,
          partitions: ctx.partitions,
          ttlMs: ctx.leaseTtlMs,
          ackWaitMs: ctx.ackWaitMs,
          onError: ctx.onError,
          acquire: (partition, ready) => {
            ownedPartitions.add(partition);
            void ready.then(() => ownedPartitions.has(partition) && openPartition(partition));
          },
          revoke: async (partition, lost) => {
            ownedPartitions.delete(partition);
            const source = sources.get(`p${partition}`);
            if (source) await revoke(source, lost);
          },
        })
      : undefined;
  openAll();

  /** The last handler detached: give the partitions and every held message back. */
  async function stop(): Promise<void> {
    stopping = true;
    await presence.close();
    await leases?.close();
    await Promise.all([...sources.values()].map((source) => revoke(source, false)));
    clearInterval(heartbeat);
  }

  return {
    runner,
    async pause() {
      paused = true;
      const stopped = [...sources.values()];
      sources.clear();
      for (const source of stopped) source.revoked = true;
      await Promise.all(stopped.map((source) => source.lane.close().then(() => source.arrivals)));
      await runner.pause();
      for (const source of stopped) for (const item of [...source.items]) finish(item);
      // The rewind drops the retry state on the server too.
      failing.clear();
    },
    resume() {
      paused = false;
      runner.resume();
      openAll();
    },
  };
}
