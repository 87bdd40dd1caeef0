import type { Redis } from 'ioredis';
import type { CloudEvent } from '../../contracts/index.ts';
import {
  createSubscriptionRunner,
  matchesTypes,
  type DeadVerdict,
  type ResolvedSubscriptionOptions,
  type RetryVerdict,
  type RunnerItem,
  type SubscriptionRunner,
  type SubscriptionStorage,
} from '../../bus/kit/index.ts';
import { createAcker } from './acks.ts';
import { decodeEntry, typeOfEntry, type StreamEntry } from './codec.ts';
import { parseRetryState, type DeadRecord, type RetryState } from './dead-letters.ts';
import { infoRecord } from './groups.ts';
import { sequenceOf, type Keys } from './keys.ts';
import { startLeases, type LeaseManager } from './leases.ts';

export interface FeedContext {
  /** Commands (auto-pipelined). */
  readonly redis: Redis;
  readonly keys: Keys;
  readonly partitions: number;
  readonly leaseMs: number;
  readonly onError: (error: Error) => void;
}

/** The Redis half of one subscription running in this process; the kit's runner is the other. */
export interface SubscriptionFeed {
  readonly runner: SubscriptionRunner<Item>;
  /** Drops everything held and stops reading (a rewind is about to move the groups). */
  pause(): Promise<void>;
  /** Reads again; `epoch` is the rewind's, so the feed does not take its own rewind for another's. */
  resume(epoch?: string): void;
}

/** A partition stream, or the redrive stream (the last lane), while this process holds its lease. */
interface Lane {
  readonly index: number;
  readonly stream: string;
  readonly redrive: boolean;
  /** Its unfinished entries were claimed: new ones may be read. */
  claimed: boolean;
  revoked: boolean;
  /** Items handed to a handler whose outcome is not settled. */
  running: number;
  drained?: () => void;
}

interface Item extends RunnerItem {
  readonly lane: Lane;
  /** Stream entry id. */
  readonly id: string;
  readonly event: CloudEvent;
  readonly unreadable: boolean;
  /** Field of its retry state in `retry:<sub>`. */
  readonly retryField: string;
  /** The dead letter it was sent back as (redrive lane). */
  readonly record?: DeadRecord;
  firstFailedAt?: number;
  hasRetryState: boolean;
  counted: boolean;
  gone: boolean;
}

/** Most entries one read asks for per stream. */
const READ_COUNT = 500;
/** How long one blocking read waits for new entries; lease changes and pauses interrupt it. */
const BLOCK_MS = 2_000;
/** How often a feed looks whether another process rewound the subscription. */
const EPOCH_CHECK_MS = 200;

/**
 * Reads the subscription's lanes this process leases (leases.ts) into the kit's runner, which
 * hands events to the attached handlers as on every engine (per-key order, other keys in parallel,
 * a retry holds back its key only). A lane taken over first claims what its last owner left
 * unfinished (`XAUTOCLAIM` from every consumer of the group, in log order) with its retry state,
 * then reads new entries (`XREADGROUP … >`), all lanes in one blocking read on a connection of its
 * own. Outcomes are stored in Redis: acks batched (acks.ts); retry state in `retry:<sub>`
 * before the retry is scheduled (the entry stays pending); a dead letter in `dead:<sub>` with its
 * `XACK`, in one transaction. A rewind by another process is noticed within `EPOCH_CHECK_MS`.
 */
export function startFeed(ctx: FeedContext, options: ResolvedSubscriptionOptions): SubscriptionFeed {
  const { redis, keys } = ctx;
  const group = options.name;
  const retryKey = keys.retry(options.name);
  const lanes = new Map<number, Lane>();
  const bufferSize = Math.min(20_000, Math.max(2_000, 4 * options.concurrency * options.maxBatchSize));
  let paused = false;
  let stopping = false;
  let knownEpoch: string | null | undefined;
  let wake: (() => void) | undefined;
  let blockedId: number | undefined;
  const reader = redis.duplicate();
  reader.on('error', () => undefined);

  /** Wakes the read loop: from its wait, or from its blocking read. */
  const signal = (interrupt = false): void => {
    wake?.();
    if (interrupt && blockedId !== undefined) void redis.client('UNBLOCK', blockedId).catch(() => undefined);
  };
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  /**
   * Events kept ready to hand out. Larger than on SQLite: each read is a round trip, so a feed reads
   * again only once a quarter of this is used up, and then tops it up in one read.
   */
  const readAhead = (): number => Math.min(bufferSize, Math.max(512, 8 * runner.capacity * options.maxBatchSize));
  const room = (): number => Math.min(bufferSize - runner.held, readAhead() - runner.ready);

  // ── Reading ───────────────────────────────────────────────────────────────────────────────

  function push(lane: Lane, entries: readonly StreamEntry[], states: readonly (string | null)[]): void {
    entries.forEach(([id, fields], i) => {
      if (lane.redrive) {
        let record: DeadRecord | undefined;
        try {
          record = JSON.parse(fields[fields.indexOf('d') + 1]) as DeadRecord;
        } catch {
          record = undefined;
        }
        const state = parseRetryState(states[i]);
        const event = record?.event ?? decodeEntry(0, fields).event;
        runner.push(item(lane, id, event, !record, `r${id}`, state, 0, record));
        return;
      }
      const sequence = sequenceOf(id);
      if (!matchesTypes(options.types, typeOfEntry(fields) ?? '')) {
        // Another type: done for this subscription without being parsed.
        void redis.xack(lane.stream, group, id).catch(ctx.onError);
        return;
      }
      const { event, unreadable } = decodeEntry(sequence, fields);
      const delayed = options.delayMs > 0 ? Date.parse(event.recordedtime) + options.delayMs : 0;
      runner.push(item(lane, id, event, unreadable, String(sequence), parseRetryState(states[i]), delayed));
    });
  }

  function item(lane: Lane, id: string, event: CloudEvent, unreadable: boolean, retryField: string, state: RetryState | undefined, delayed: number, record?: DeadRecord): Item {
    return {
      lane,
      id,
      event,
      unreadable,
      retryField,
      record,
      // Dead letters sent back keep their key: one at a time, in the order they come back (log order).
      key: event.partitionkey,
      readyAt: Math.max(delayed, state?.at ?? 0),
      attempts: state?.attempts ?? 0,
      firstFailedAt: state?.first,
      hasRetryState: state !== undefined,
      counted: false,
      gone: false,
    };
  }

  /** Takes over what the lane's last owner (any consumer of the group) left pending, in log order. */
  async function claim(lane: Lane, consumer: string): Promise<void> {
    let cursor = '0-0';
    do {
      const [next, entries] = (await redis.xautoclaim(lane.stream, group, consumer, 0, cursor, 'COUNT', READ_COUNT)) as [string, StreamEntry[]];
      const live = entries.filter((entry): entry is StreamEntry => Array.isArray(entry) && Array.isArray(entry[1]));
      if (live.length > 0) {
        const states = await redis.hmget(retryKey, ...live.map(([id]) => (lane.redrive ? `r${id}` : String(sequenceOf(id)))));
        if (lane.revoked || paused || stopping) return;
        push(lane, live, states);
      }
      cursor = next;
    } while (cursor !== '0-0');
    lane.claimed = true;
    await forgetIdleConsumers(lane, consumer).catch(ctx.onError);
  }

  /**
   * Every process that ever read a lane left a consumer in its group; those with nothing pending
   * and idle for ten lease times (a process gone, or one that no longer holds the lane) are
   * deleted, so the groups do not grow with every restart. One with entries pending is never
   * deleted (that would drop them): the next owner claims them first.
   */
  async function forgetIdleConsumers(lane: Lane, consumer: string): Promise<void> {
    const raw = (await redis.xinfo('CONSUMERS', lane.stream, group)) as unknown[][];
    for (const info of raw.map(infoRecord)) {
      if (info.name !== consumer && Number(info.pending) === 0 && Number(info.idle) > 10 * ctx.leaseMs) {
        await redis.xgroup('DELCONSUMER', lane.stream, group, String(info.name));
      }
    }
  }

  async function readLoop(consumer: string): Promise<void> {
    let epochCheckAt = 0;
    blockedId = undefined;
    const readerId = Number(await reader.client('ID'));
    while (!stopping) {
      try {
        if (paused) {
          await sleep(1_000);
          continue;
        }
        if (Date.now() >= epochCheckAt) {
          epochCheckAt = Date.now() + EPOCH_CHECK_MS;
          const epoch = await redis.get(keys.epoch(options.name));
          if (knownEpoch !== undefined && epoch !== knownEpoch) {
            // Another process rewound the subscription: what is held here is from before.
            await pause();
            resume(epoch ?? undefined);
            continue;
          }
          knownEpoch = epoch;
        }
        for (const lane of lanes.values()) if (!lane.claimed && !lane.revoked) await claim(lane, consumer);
        const active = [...lanes.values()].filter((lane) => lane.claimed && !lane.revoked);
        const wanted = room();
        if (active.length === 0 || wanted < Math.max(1, readAhead() / 4)) {
          await sleep(active.length === 0 ? 250 : 1_000);
          continue;
        }
        blockedId = readerId;
        let reply: [string, StreamEntry[]][] | null;
        try {
          reply = (await reader.xreadgroup(
            'GROUP',
            group,
            consumer,
            'COUNT',
            Math.min(READ_COUNT, wanted),
            'BLOCK',
            BLOCK_MS,
            'STREAMS',
            ...active.map((lane) => lane.stream),
            ...active.map(() => '>'),
          )) as [string, StreamEntry[]][] | null;
        } finally {
          blockedId = undefined;
        }
        if (!reply || paused || stopping) continue;
        for (const [stream, entries] of reply) {
          const lane = active.find((l) => l.stream === stream);
          // Revoked meanwhile: the entries stay pending for the lane's next owner.
          if (!lane || lane.revoked) continue;
          const states = lane.redrive && entries.length > 0 ? await redis.hmget(retryKey, ...entries.map(([id]) => `r${id}`)) : [];
          push(lane, entries, states);
        }
      } catch (error) {
        if (stopping) break;
        ctx.onError(error as Error);
        await sleep(100);
      }
    }
  }

  const acks = createAcker(redis, group, retryKey, ctx.onError);
  const acksWritten = (): Promise<void> => acks.written();

  // ── SubscriptionStorage: outcomes stored in Redis ───────────────────────────────────────────

  function settled(item: Item): void {
    if (!item.counted) return;
    item.counted = false;
    item.lane.running -= 1;
    if (item.lane.running === 0) item.lane.drained?.();
  }

  async function deadLetter(item: Item, verdict: DeadVerdict): Promise<void> {
    const record: DeadRecord = {
      event: item.event,
      error: verdict.error,
      attempts: verdict.attempts,
      firstFailedAt: new Date(item.firstFailedAt ?? verdict.failedAt).toISOString(),
      lastFailedAt: new Date(verdict.failedAt).toISOString(),
    };
    const sequence = String(item.event.sequence);
    await redis
      .multi()
      .hset(keys.deadInfo(options.name), sequence, JSON.stringify(record))
      .zadd(keys.dead(options.name), item.event.sequence, sequence)
      .xack(item.lane.stream, group, item.id)
      .hdel(retryKey, item.retryField)
      .exec();
    item.gone = true;
  }

  const storage: SubscriptionStorage<Item> = {
    screen(item) {
      // Revoked: it stays pending for the lane's next owner (or this process, once it claims it again).
      if (item.gone || item.lane.revoked || lanes.get(item.lane.index) !== item.lane) return undefined;
      if (item.unreadable) {
        return deadLetter(item, { error: 'unreadable entry: not a Flamingo event', attempts: item.attempts + 1, failedAt: Date.now() }).then(
          () => undefined,
          (error: Error) => {
            ctx.onError(error);
            return Date.now() + 1_000;
          },
        );
      }
      return 'deliver';
    },
    started(items) {
      for (const item of items) {
        item.counted = true;
        item.lane.running += 1;
      }
    },
    ack(item) {
      acks.ack(item.lane.stream, item.id, item.hasRetryState ? item.retryField : undefined);
      item.gone = true;
      settled(item);
    },
    giveBack(item, at) {
      settled(item);
      return item.gone || item.lane.revoked ? undefined : at;
    },
    async retry(item, verdict: RetryVerdict) {
      try {
        item.firstFailedAt ??= verdict.failedAt;
        const state: RetryState = { attempts: verdict.attempts, at: verdict.at, error: verdict.error, first: item.firstFailedAt, last: verdict.failedAt };
        await redis.hset(retryKey, item.retryField, JSON.stringify(state));
        item.hasRetryState = true;
      } catch (error) {
        ctx.onError(error as Error);
      } finally {
        settled(item);
      }
      return item.lane.revoked ? undefined : verdict.at;
    },
    async dead(item, verdict) {
      try {
        await deadLetter(item, verdict);
      } catch (error) {
        // Not recorded: it stays pending rather than being lost.
        ctx.onError(error as Error);
      } finally {
        settled(item);
      }
    },
    unitDone: () => signal(),
  };

  // This process's handlers, for the count over every process (statistics.ts), at once (the lease
  // ticks renew it); written in order on one connection.
  const publishConsumers = (): void => {
    void redis.hset(keys.consumers(options.name), leases.owner, runner.consumers).catch(ctx.onError);
  };
  const runner: SubscriptionRunner<Item> = createSubscriptionRunner<Item>({
    options,
    storage,
    onCapacity: () => {
      signal();
      publishConsumers();
    },
    onStop: () => stop(),
  });

  // ── Ownership and lifecycle ─────────────────────────────────────────────────────────────────

  const laneCount = ctx.partitions + 1;
  const openLane = (index: number): void => {
    lanes.set(index, {
      index,
      stream: index === ctx.partitions ? keys.redrive(options.name) : keys.partition(index),
      redrive: index === ctx.partitions,
      claimed: false,
      revoked: false,
      running: 0,
    });
    signal(true);
  };

  async function revoke(index: number): Promise<void> {
    const lane = lanes.get(index);
    if (!lane || lane.revoked) return;
    lane.revoked = true;
    lanes.delete(index);
    signal(true);
    if (lane.running > 0) await new Promise<void>((resolve) => (lane.drained = resolve));
    await acksWritten();
  }

  const leases: LeaseManager = startLeases({
    redis,
    keys,
    subscription: options.name,
    lanes: laneCount,
    ttlMs: ctx.leaseMs,
    onError: ctx.onError,
    acquire: (index) => openLane(index),
    revoke: (index) => revoke(index),
    consumers: () => runner.consumers,
  });
  const loop = readLoop(leases.owner);

  async function stop(): Promise<void> {
    await leases.close();
    await acksWritten();
    stopping = true;
    signal(true);
    await loop;
    reader.disconnect();
  }

  async function pause(): Promise<void> {
    paused = true;
    signal(true);
    await runner.pause();
    await acksWritten();
    for (const lane of lanes.values()) {
      lane.claimed = false;
      // Items held from before the pause are dropped by `screen`: they belong to the old lane.
      lanes.set(lane.index, { ...lane, running: 0, drained: undefined });
    }
  }

  function resume(epoch?: string): void {
    if (epoch !== undefined) knownEpoch = epoch;
    paused = false;
    runner.resume();
    signal(true);
  }

  return { runner, pause, resume };
}
