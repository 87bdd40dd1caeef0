import type { Redis } from 'ioredis';
import { matchesTypes, type SubscriptionInfo, type SubscriptionRunner, type RunnerItem } from '../../bus/kit/index.ts';
import { typeOfEntry, type StreamEntry } from './codec.ts';
import { finishedBelow, groupsOf } from './groups.ts';
import { entryId, sequenceOf, type Keys } from './keys.ts';
import { positionBeforeTime } from './read.ts';

/**
 * Every subscription's statistics, from its groups on the partition streams: `position` is the
 * lowest, over partitions, of "everything before the first entry not finished" (the first pending
 * one, else the first not yet delivered, else the head); `lag` the entries pending or not yet
 * delivered (of any type: a feed acknowledges other types as it reads them; Redis 7's group lag,
 * else counted up to 10 000 a partition); `retrying` the events with retry state; `inFlight` what
 * this process runs; `consumers` the handlers of every live member (`consumers:<sub>`, counted for
 * the processes `members:<sub>` holds by the server's clock); `scheduled`, for a delayed
 * subscription, the matching events recorded less than its delay ago (counted up to 10 000 a
 * partition), taken out of `lag`.
 */
export async function subscriptionInfos(
  redis: Redis,
  keys: Keys,
  partitions: number,
  runnerOf: (name: string) => Promise<Pick<SubscriptionRunner<RunnerItem>, 'inFlight'> | undefined>,
): Promise<SubscriptionInfo[]> {
  const all = await redis.hgetall(keys.subs);
  const head = Number((await redis.get(keys.seq)) ?? 0);
  const groupsByPartition = await Promise.all(Array.from({ length: partitions }, (_, n) => groupsOf(redis, keys.partition(n))));
  const infos = await Promise.all(
    Object.entries(all).map(async ([name, raw]): Promise<SubscriptionInfo> => {
      const { types, delayMs = 0 } = JSON.parse(raw) as { types: string[]; delayMs?: number };
      let position = head;
      let lag = 0;
      await Promise.all(
        groupsByPartition.map(async (groups, n) => {
          const group = groups.get(name);
          if (!group) return;
          const stream = keys.partition(n);
          const undelivered = group.lag ?? (await redis.xrange(stream, `(${group.lastDelivered}`, '+', 'COUNT', 10_000)).length;
          lag += undelivered + group.pending;
          let done = await finishedBelow(redis, stream, name, group.pending, group.lastDelivered);
          if (group.pending === 0 && undelivered > 0) {
            const [next] = (await redis.xrange(stream, `(${group.lastDelivered}`, '+', 'COUNT', 1)) as [string, string[]][];
            if (next) done = sequenceOf(next[0]);
          } else if (group.pending === 0) done = head + 1;
          position = Math.min(position, done - 1);
        }),
      );
      const [retrying, deadLetters, consumers, inWindow] = await Promise.all([
        redis.hlen(keys.retry(name)),
        redis.zcard(keys.dead(name)),
        attachedConsumers(redis, keys, name),
        delayMs > 0 && lag > 0 ? recordedSince(redis, keys, partitions, types, Math.max(position, await positionBeforeTime(redis, keys, new Date(Date.now() - delayMs)))) : 0,
      ]);
      const scheduled = Math.min(lag, inWindow);
      const runner = await runnerOf(name);
      return { name, types, position, lag: lag - scheduled, inFlight: runner?.inFlight ?? 0, retrying, deadLetters, scheduled, consumers };
    }),
  );
  return infos.sort((a, b) => a.name.localeCompare(b.name));
}

/** Handlers attached to the subscription in the processes whose membership has not lapsed. */
async function attachedConsumers(redis: Redis, keys: Keys, subscription: string): Promise<number> {
  const [seconds, micros] = await redis.time();
  const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  const live = await redis.zrangebyscore(keys.members(subscription), `(${now}`, '+inf');
  if (live.length === 0) return 0;
  const counts = await redis.hmget(keys.consumers(subscription), ...live);
  return counts.reduce((sum, count) => sum + (Number(count) || 0), 0);
}

/** Events of `types` after `sequence`, up to 10 000 a partition. */
async function recordedSince(redis: Redis, keys: Keys, partitions: number, types: readonly string[], sequence: number): Promise<number> {
  const counts = await Promise.all(
    Array.from({ length: partitions }, async (_, n) => {
      const entries = (await redis.xrange(keys.partition(n), entryId(sequence + 1), '+', 'COUNT', 10_000)) as StreamEntry[];
      return entries.filter(([, fields]) => matchesTypes(types, typeOfEntry(fields) ?? '')).length;
    }),
  );
  return counts.reduce((sum, n) => sum + n, 0);
}
