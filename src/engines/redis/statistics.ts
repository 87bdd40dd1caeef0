import type { Redis } from 'ioredis';
import type { SubscriptionInfo, SubscriptionRunner, RunnerItem } from '../../bus/kit/index.ts';
import { finishedBelow, groupsOf } from './groups.ts';
import { sequenceOf, type Keys } from './keys.ts';

/**
 * Every subscription's statistics, from its groups on the partition streams: `position` is the
 * lowest, over partitions, of "everything before the first entry not finished" (the first pending
 * one, else the first not yet delivered, else the head); `lag` the entries pending or not yet
 * delivered (of any type: a feed acknowledges other types as it reads them; Redis 7's group lag,
 * else counted up to 10 000 a partition); `retrying` the events with retry state; `inFlight` and
 * `consumers` what this process runs.
 */
export async function subscriptionInfos(
  redis: Redis,
  keys: Keys,
  partitions: number,
  runnerOf: (name: string) => Promise<Pick<SubscriptionRunner<RunnerItem>, 'inFlight' | 'consumers'> | undefined>,
): Promise<SubscriptionInfo[]> {
  const all = await redis.hgetall(keys.subs);
  const head = Number((await redis.get(keys.seq)) ?? 0);
  const groupsByPartition = await Promise.all(Array.from({ length: partitions }, (_, n) => groupsOf(redis, keys.partition(n))));
  const infos = await Promise.all(
    Object.entries(all).map(async ([name, raw]): Promise<SubscriptionInfo> => {
      const { types } = JSON.parse(raw) as { types: string[] };
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
      const [retrying, deadLetters] = await Promise.all([redis.hlen(keys.retry(name)), redis.zcard(keys.dead(name))]);
      const runner = await runnerOf(name);
      return { name, types, position, lag, inFlight: runner?.inFlight ?? 0, retrying, deadLetters, consumers: runner?.consumers ?? 0 };
    }),
  );
  return infos.sort((a, b) => a.name.localeCompare(b.name));
}
