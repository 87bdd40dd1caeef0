import type { Redis } from 'ioredis';
import { finishedBelow, groupsOf } from './groups.ts';
import { entryId, type Keys } from './keys.ts';

/**
 * Trims each partition stream below what every subscription has finished and what the retention
 * allows (`retentionMs`: events recorded longer ago; 0 trims nothing). A partition whose stream
 * has a group that has not finished an entry keeps that entry and everything after it, whatever
 * its age; dead letters keep their own copy of their event. Resolves to the entries removed.
 */
export async function trimLog(redis: Redis, keys: Keys, partitions: number, retentionMs: number): Promise<number> {
  if (retentionMs <= 0) return 0;
  const [seconds, micros] = (await redis.time()) as [number | string, number | string];
  const cutoffMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - retentionMs;
  // The first sequence recorded at or after the cutoff: everything before it is old enough.
  const [firstYoung] = await redis.zrangebyscore(keys.times, cutoffMs, '+inf', 'LIMIT', 0, 1);
  const head = Number((await redis.get(keys.seq)) ?? 0);
  const oldEnoughBelow = firstYoung === undefined ? head + 1 : Number(firstYoung);
  let removed = 0;
  let lowest = oldEnoughBelow;
  for (let n = 0; n < partitions; n++) {
    const stream = keys.partition(n);
    let below = oldEnoughBelow;
    for (const [name, group] of await groupsOf(redis, stream)) below = Math.min(below, await finishedBelow(redis, stream, name, group.pending, group.lastDelivered));
    lowest = Math.min(lowest, below);
    if (below > 1) removed += Number(await redis.xtrim(stream, 'MINID', entryId(below)));
  }
  // The time index keeps the appends some partition still holds.
  const old = await redis.zrangebyscore(keys.times, '-inf', `(${cutoffMs}`, 'LIMIT', 0, 10_000);
  const gone = old.filter((first) => Number(first) < lowest);
  if (gone.length > 0) await redis.zrem(keys.times, ...gone);
  return removed;
}
