/**
 * The Redis Streams engine: the bus log on Redis, for shops that already run Redis (DESIGN.md
 * "Runtime"; issue 13). Every key is in keys.ts.
 *
 * Layout: one stream per key partition (`p:<n>`, partition = the kit's `partitionOf` of
 * `partitionkey ?? id`, fixed at creation in `meta`), entry ids `<sequence>-0` from one counter, so
 * the log has one order across partitions and a position is a sequence. Appends run as one Lua
 * script (append.ts), which also deduplicates event ids within the duplicate window.
 *
 * Subscriptions: a consumer group of the subscription's name on every partition stream. Each
 * partition is worked by one process at a time under a lease (leases.ts), so per-key order holds
 * with many processes; the lease time is the visibility timeout — a process that dies loses its
 * partitions after it, and the next owner claims (`XAUTOCLAIM`) what it left unfinished before
 * reading anything newer. Retry state, dead letters and dead letters sent back live beside the
 * streams (dead-letters.ts); the kit's subscription runner does the rest, as on every engine.
 * Order across keys holds within a partition only: with `partitions: 1` one process works a
 * subscription at a time and sees the whole log in order.
 *
 * Durability is Redis's (durability.ts): with `appendonly yes` and `appendfsync always` an event is
 * fsync'd before `append` resolves; the engine reads the server's settings at start and reports
 * through `onWarning` what acknowledged events could be lost otherwise.
 *
 * Trimming (trim.ts): with `retentionMs` > 0, entries older than it that every subscription has
 * finished are removed every `retentionMs / 10` (at most a minute); nothing unfinished is trimmed.
 */
import { Redis } from 'ioredis';
import type { CloudEvent, UnstoredEvent } from '../../contracts/index.ts';
import {
  EngineClosedError,
  InvalidOptionsError,
  integerOption,
  runningSubscriptions,
  UnknownSubscriptionError,
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
import { createAppender, defineAppend, type Appender } from './append.ts';
import { defineDeadLetters, discardDeadLetters, listDeadLetters, redriveDeadLetters } from './dead-letters.ts';
import { checkDurability, type Durability } from './durability.ts';
import { entryId, keysFor, type Keys } from './keys.ts';
import { defineLeases } from './leases.ts';
import { positionBeforeTime, readEvents } from './read.ts';
import { startFeed, type SubscriptionFeed } from './subscription-feed.ts';
import { subscriptionInfos } from './statistics.ts';
import { trimLog } from './trim.ts';

export interface RedisEngineOptions {
  /** `redis://[user:password@]host:port[/db]` (`rediss://` for TLS). (Default: `redis://127.0.0.1:6379`) */
  readonly url?: string;
  /** Prefix of every key, used as a hash tag (`{flamingo}:…`). (Default: `flamingo`) */
  readonly prefix?: string;
  /**
   * Partitions (streams) of a new log, 1–1024: how many processes can share a subscription.
   * Fixed at creation: an existing log keeps its count and a different explicit value is refused.
   * (Default: 16)
   */
  readonly partitions?: number;
  /**
   * How long an event id is remembered: publishing it again within this window answers the first
   * sequence with `duplicate: true`; after it the id would be stored again (the `handleOnce` inbox
   * covers redelivery beyond it). Costs one key (~130 bytes with its expiry) per event for the window. (Default: 120 000 ms)
   */
  readonly duplicateWindowMs?: number;
  /** Entries older than this and finished by every subscription are trimmed; 0 keeps every event. (Default: 0) */
  readonly retentionMs?: number;
  /**
   * The visibility timeout, 1 000–60 000 ms: how long a process keeps a partition of a subscription
   * without renewing it (every quarter of it). A killed process's partitions, with their unfinished
   * events, move to a survivor at most 1.25 × this later. (Default: 3 000 ms)
   */
  readonly leaseMs?: number;
  /** What the server's persistence settings let be lost (checked at start). (Default: ignored) */
  readonly onWarning?: (message: string) => void;
  /** Problems the engine recovers from on its own (a read failed, an ack not stored). (Default: ignored) */
  readonly onError?: (error: Error) => void;
}

/** The Redis engine, with what only it can tell. */
export interface RedisEngine extends Engine {
  /** The server's persistence settings and what they mean for acknowledged events. */
  durability(): Promise<Durability>;
  /** Trims now what the retention setting and every subscription allow; resolves to the entries removed. */
  trim(): Promise<number>;
}

const DEFAULT_PARTITIONS = 16;

/**
 * The Redis Streams engine. Returns at once; the connection and the log's metadata are set up in
 * the background and every call waits for that (a server that cannot be reached fails the call).
 */
export function redisEngine(options: RedisEngineOptions = {}): RedisEngine {
  return new RedisStreamsEngine(options);
}

interface Core {
  readonly redis: Redis;
  readonly partitions: number;
  readonly durability: Durability;
  readonly appender: Appender;
}

class RedisStreamsEngine implements RedisEngine {
  readonly name = 'redis';
  readonly #keys: Keys;
  readonly #settings: { duplicateWindowMs: number; retentionMs: number; leaseMs: number };
  readonly #onError: (error: Error) => void;
  readonly #core: Promise<Core>;
  readonly #running = runningSubscriptions<SubscriptionFeed>();
  #trimTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: RedisEngineOptions) {
    const prefix = options.prefix ?? 'flamingo';
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(prefix)) throw new InvalidOptionsError(`prefix must be 1–64 letters, digits, _, . or -, got "${prefix}"`);
    this.#keys = keysFor(prefix);
    const partitions = options.partitions === undefined ? undefined : integerOption('partitions', options.partitions, DEFAULT_PARTITIONS, 1, 1024);
    this.#settings = {
      duplicateWindowMs: integerOption('duplicateWindowMs', options.duplicateWindowMs, 120_000, 1_000),
      retentionMs: integerOption('retentionMs', options.retentionMs, 0, 0),
      leaseMs: integerOption('leaseMs', options.leaseMs, 3_000, 1_000, 60_000),
    };
    this.#onError = options.onError ?? (() => undefined);
    this.#core = this.#setUp(options.url ?? 'redis://127.0.0.1:6379', partitions, options.onWarning);
    // Reported to whoever calls first, not as an unhandled rejection.
    this.#core.catch(() => undefined);
  }

  async #setUp(url: string, wanted: number | undefined, onWarning?: (message: string) => void): Promise<Core> {
    // No auto-pipelining: it holds every command until `setImmediate`, a delay on a busy event loop;
    // appends and acks make their own batches (append.ts, the feed's `queueAck`), and other commands
    // go on the wire at once without waiting for earlier replies anyway.
    const redis = new Redis(url, { lazyConnect: true, enableAutoPipelining: false, maxRetriesPerRequest: 3, connectionName: `flamingo ${this.#keys.prefix}` });
    redis.on('error', (error: Error) => this.#onError(error));
    try {
      await redis.connect();
      defineAppend(redis);
      defineLeases(redis);
      defineDeadLetters(redis);
      await redis.hsetnx(this.#keys.meta, 'partitions', wanted ?? DEFAULT_PARTITIONS);
      const partitions = Number(await redis.hget(this.#keys.meta, 'partitions'));
      if (wanted !== undefined && wanted !== partitions) {
        throw new InvalidOptionsError(`the log "${this.#keys.prefix}" has ${partitions} partitions, not ${wanted}: the count is fixed when the log is created`);
      }
      const durability = await checkDurability(redis);
      if (durability.warning) onWarning?.(durability.warning);
      if (this.#settings.retentionMs > 0) {
        this.#trimTimer = setInterval(() => void this.trim().catch(this.#onError), Math.min(60_000, Math.max(1_000, Math.floor(this.#settings.retentionMs / 10))));
        this.#trimTimer.unref();
      }
      const appender = createAppender(redis, { keys: this.#keys, partitions, duplicateWindowMs: this.#settings.duplicateWindowMs });
      return { redis, partitions, durability, appender };
    } catch (error) {
      redis.disconnect();
      throw error;
    }
  }

  async #ready(): Promise<Core> {
    if (this.#closed) throw new EngineClosedError(this.name);
    return await this.#core;
  }

  async durability(): Promise<Durability> {
    return (await this.#ready()).durability;
  }

  async trim(): Promise<number> {
    const core = await this.#ready();
    return await trimLog(core.redis, this.#keys, core.partitions, this.#settings.retentionMs);
  }

  async append(events: readonly UnstoredEvent[]): Promise<PublishResult[]> {
    const core = await this.#ready();
    if (events.length === 0) return [];
    return await core.appender.append(events);
  }

  async read(query: ReadQuery): Promise<CloudEvent[]> {
    const core = await this.#ready();
    return await readEvents(core.redis, this.#keys, core.partitions, query);
  }

  async head(): Promise<number> {
    const core = await this.#ready();
    return Number((await core.redis.get(this.#keys.seq)) ?? 0);
  }

  async #positionOf(core: Core, position: Position): Promise<number> {
    if (position === 'beginning') return 0;
    if (position === 'now') return Number((await core.redis.get(this.#keys.seq)) ?? 0);
    if ('sequence' in position) return Math.max(0, position.sequence - 1);
    return await positionBeforeTime(core.redis, this.#keys, position.time);
  }

  async consume(options: ResolvedSubscriptionOptions, deliver: Deliver): Promise<Subscription> {
    const core = await this.#ready();
    return await this.#running.attach(options, deliver, (resolved) => this.#start(core, resolved));
  }

  /** Creates the subscription's groups at `startAt` when it is new, then starts its feed here. */
  async #start(core: Core, options: ResolvedSubscriptionOptions): Promise<SubscriptionFeed> {
    const { redis } = core;
    const keys = this.#keys;
    if (!(await redis.hexists(keys.subs, options.name))) {
      const position = await this.#positionOf(core, options.startAt);
      const creating = [
        ...Array.from({ length: core.partitions }, (_, n) => redis.xgroup('CREATE', keys.partition(n), options.name, entryId(position), 'MKSTREAM')),
        redis.xgroup('CREATE', keys.redrive(options.name), options.name, '0', 'MKSTREAM'),
      ];
      // Another process creating it at the same moment: its groups stand.
      const results = await Promise.allSettled(creating);
      for (const result of results) if (result.status === 'rejected' && !String(result.reason).includes('BUSYGROUP')) throw result.reason;
    }
    await redis.hset(keys.subs, options.name, JSON.stringify({ types: options.types, delayMs: options.delayMs }));
    return startFeed({ redis, keys, partitions: core.partitions, leaseMs: this.#settings.leaseMs, onError: this.#onError }, options);
  }

  async #subscription(core: Core, name: string): Promise<{ types: string[] }> {
    const raw = await core.redis.hget(this.#keys.subs, name);
    if (!raw) throw new UnknownSubscriptionError(name);
    return JSON.parse(raw) as { types: string[] };
  }

  async subscriptions(): Promise<SubscriptionInfo[]> {
    const core = await this.#ready();
    return await subscriptionInfos(core.redis, this.#keys, core.partitions, async (name) => (await this.#running.whenRunning(name))?.runner);
  }

  async rewind(subscription: string, to: Position): Promise<void> {
    const core = await this.#ready();
    await this.#subscription(core, subscription);
    const feed = await this.#running.whenRunning(subscription);
    await feed?.pause();
    let epoch: string | undefined;
    try {
      const position = await this.#positionOf(core, to);
      const keys = this.#keys;
      // Recreated at the position: their pending entries (and other processes' consumers) go too.
      const multi = core.redis.multi();
      for (let n = 0; n < core.partitions; n++) {
        multi.xgroup('DESTROY', keys.partition(n), subscription).xgroup('CREATE', keys.partition(n), subscription, entryId(position), 'MKSTREAM');
      }
      multi.del(keys.retry(subscription)).incr(keys.epoch(subscription));
      const results = (await multi.exec()) ?? [];
      const failed = results.find(([error]) => error);
      if (failed) throw failed[0];
      epoch = String(results.at(-1)?.[1]);
    } finally {
      feed?.resume(epoch);
    }
  }

  async deadLetters(subscription: string, options?: { limit?: number; afterSequence?: number }): Promise<DeadLetter[]> {
    const core = await this.#ready();
    await this.#subscription(core, subscription);
    return await listDeadLetters(core.redis, this.#keys, subscription, options);
  }

  async retryDeadLetters(subscription: string, eventId?: string): Promise<number> {
    const core = await this.#ready();
    await this.#subscription(core, subscription);
    return await redriveDeadLetters(core.redis, this.#keys, subscription, eventId);
  }

  async discardDeadLetters(subscription: string, eventId?: string): Promise<number> {
    const core = await this.#ready();
    await this.#subscription(core, subscription);
    return await discardDeadLetters(core.redis, this.#keys, subscription, eventId);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#trimTimer);
    await this.#running.closeAll();
    const core = await this.#core.catch(() => undefined);
    await core?.redis.quit().catch(() => undefined);
  }
}
