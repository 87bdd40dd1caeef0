import { randomUUID } from 'node:crypto';
import type { Redis, Result } from 'ioredis';
import type { Keys } from './keys.ts';

/**
 * Which process works which lane of a subscription — its partition streams, plus its redrive
 * stream as the last lane — so a key's events are handled by one process at a time and a process
 * may keep many of them in flight (Kafka's group assignment, on Redis keys with a time to live).
 *
 * `lease:<sub>:<lane>` holds the owner's id with a `PX` of the lease time; `members:<sub>` scores
 * every attached process by when its membership lapses, and their count gives each a fair share,
 * ⌈lanes / members⌉. Every quarter of the lease time one script (server clock, atomic) renews the
 * member and the leases a process holds, and takes free lanes up to its share; a process gives back
 * lanes beyond its share once the events it runs from them are finished (`release`); the same
 * script keeps `consumers:<sub>` (member → handlers attached there) for the members alive. The lease is
 * the visibility timeout: a process that stops renewing — killed, or its event loop stalled for a
 * lease time — loses its lanes, and the next owner claims their unfinished entries (`XAUTOCLAIM`).
 */
const TICK = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local me, ttl, lanes, offset, join, consumers = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], ARGV[6]
local counts = KEYS[2 + lanes]
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #lapsed > 0 then redis.call('HDEL', counts, unpack(lapsed)) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if join == '1' then
  redis.call('ZADD', KEYS[1], now + ttl, me)
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('HSET', counts, me, consumers)
  redis.call('PEXPIRE', counts, ttl)
end
local members = math.max(1, redis.call('ZCARD', KEYS[1]))
local share = math.ceil(lanes / members)
local owned = {}
local count = 0
for i = 0, lanes - 1 do
  local key = KEYS[2 + i]
  if redis.call('GET', key) == me then
    redis.call('PEXPIRE', key, ttl)
    owned[#owned + 1] = i
    count = count + 1
  end
end
if join == '1' then
  for k = 0, lanes - 1 do
    if count >= share then break end
    local i = (offset + k) % lanes
    if redis.call('SET', KEYS[2 + i], me, 'NX', 'PX', ttl) then
      owned[#owned + 1] = i
      count = count + 1
    end
  end
end
return { share, owned }
`;

/** Gives a lane back only if this process still holds it. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    flamingoLeaseTick(...args: (string | number)[]): Result<[number, number[]], Context>;
    flamingoLeaseRelease(key: string, owner: string): Result<number, Context>;
  }
}

export function defineLeases(redis: Redis): void {
  redis.defineCommand('flamingoLeaseTick', { lua: TICK });
  redis.defineCommand('flamingoLeaseRelease', { numberOfKeys: 1, lua: RELEASE });
}

export interface LeaseOptions {
  readonly redis: Redis;
  readonly keys: Keys;
  readonly subscription: string;
  /** Partition streams + 1 (the redrive stream). */
  readonly lanes: number;
  readonly ttlMs: number;
  /** The lane is ours: claim what its last owner left unfinished, then read it. */
  readonly acquire: (lane: number) => void;
  /**
   * Stop reading the lane. `lost` (someone else may own it already): drop what is held at once;
   * else resolve once nothing of the lane runs here any more (it is released after).
   */
  readonly revoke: (lane: number, lost: boolean) => Promise<void>;
  /** Handlers attached here, renewed with the membership. */
  readonly consumers: () => number;
  readonly onError: (error: Error) => void;
}

export interface LeaseManager {
  /** This process's consumer name in the subscription's groups. */
  readonly owner: string;
  /** Releases every lane (after `revoke` drained it) and leaves the group. */
  close(): Promise<void>;
}

export function startLeases(options: LeaseOptions): LeaseManager {
  const { redis, keys, subscription, lanes, ttlMs } = options;
  const owner = randomUUID();
  const offset = parseInt(owner.slice(0, 8), 16) % lanes;
  const leaseKeys = Array.from({ length: lanes }, (_, lane) => keys.lease(subscription, lane));
  const renewMs = Math.max(100, Math.floor(ttlMs / 4));
  const owned = new Set<number>();
  const releasing = new Map<number, Promise<void>>();
  let closed = false;
  let ticking: Promise<void> = Promise.resolve();

  const release = (lane: number): Promise<void> => {
    const pending =
      releasing.get(lane) ??
      (async () => {
        await options.revoke(lane, false).catch(options.onError);
        await redis.flamingoLeaseRelease(leaseKeys[lane], owner).catch(options.onError);
        owned.delete(lane);
        releasing.delete(lane);
      })();
    releasing.set(lane, pending);
    return pending;
  };

  const tick = async (join: boolean): Promise<void> => {
    const [share, now] = await redis.flamingoLeaseTick(
      2 + lanes,
      keys.members(subscription),
      ...leaseKeys,
      keys.consumers(subscription),
      owner,
      ttlMs,
      lanes,
      offset,
      join ? '1' : '0',
      options.consumers(),
    );
    const holding = new Set(now.map(Number));
    for (const lane of [...owned]) {
      if (holding.has(lane)) continue;
      // Lost (it lapsed while we could not renew it): someone else may work it already.
      owned.delete(lane);
      releasing.delete(lane);
      void options.revoke(lane, true).catch(options.onError);
    }
    for (const lane of holding) {
      if (owned.has(lane)) continue;
      owned.add(lane);
      if (closed) void release(lane);
      else options.acquire(lane);
    }
    const keeping = [...owned].filter((lane) => !releasing.has(lane)).sort((a, b) => a - b);
    for (const lane of keeping.slice(Number(share))) void release(lane);
  };

  const run = (): void => {
    ticking = ticking.then(() => (closed ? undefined : tick(true).catch(options.onError)));
  };
  const timer = setInterval(run, renewMs);
  timer.unref();
  run();

  return {
    owner,
    async close() {
      closed = true;
      clearInterval(timer);
      await ticking;
      // Renewed while draining, so no lane lapses before its events are finished.
      const renewing = setInterval(() => void tick(false).catch(options.onError), renewMs);
      try {
        await Promise.all([...owned].map((lane) => release(lane)));
      } finally {
        clearInterval(renewing);
      }
      await redis.multi().zrem(keys.members(subscription), owner).hdel(keys.consumers(subscription), owner).exec().catch(options.onError);
    },
  };
}
