import type { Redis } from 'ioredis';
import type { CloudEvent } from '../../contracts/index.ts';
import { matchesTypes, type ReadQuery } from '../../bus/kit/index.ts';
import { decodeEntry, recordedOfEntry, typeOfEntry, type StreamEntry } from './codec.ts';
import { entryId, sequenceOf, type Keys } from './keys.ts';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1_000;

/** The sequence before the first event recorded at or after `time` (the head when there is none). */
export async function positionBeforeTime(redis: Redis, keys: Keys, time: Date | string): Promise<number> {
  const ms = new Date(time).getTime();
  const [first] = await redis.zrangebyscore(keys.times, ms, '+inf', 'LIMIT', 0, 1);
  if (first !== undefined) return Number(first) - 1;
  return Number((await redis.get(keys.seq)) ?? 0);
}

/**
 * Events in log order: each partition stream is read from the start position in pages and the
 * pages are merged by sequence. Types, subject and the time window are checked here, so a narrow
 * read may scan more of the log than it returns.
 */
export async function readEvents(redis: Redis, keys: Keys, partitions: number, query: ReadQuery): Promise<CloudEvent[]> {
  const limit = Math.min(Math.max(1, query.limit ?? DEFAULT_LIMIT), MAX_LIMIT);
  const types = query.types && query.types.length > 0 ? [...new Set(query.types)] : ['*'];
  const since = query.since === undefined ? undefined : new Date(query.since).getTime();
  const until = query.until === undefined ? undefined : new Date(query.until).getTime();
  let after = query.afterSequence ?? 0;
  if (since !== undefined) after = Math.max(after, await positionBeforeTime(redis, keys, new Date(since)));
  const page = Math.max(limit, 100);

  interface Cursor {
    readonly stream: string;
    entries: StreamEntry[];
    next: number;
    done: boolean;
  }
  const cursors: Cursor[] = Array.from({ length: partitions }, (_, n) => ({ stream: keys.partition(n), entries: [], next: 0, done: false }));
  const refill = async (cursor: Cursor, from: number): Promise<void> => {
    cursor.entries = (await redis.xrange(cursor.stream, entryId(from + 1), '+', 'COUNT', page)) as StreamEntry[];
    cursor.next = 0;
    cursor.done = cursor.entries.length < page;
  };
  await Promise.all(cursors.map((cursor) => refill(cursor, after)));

  const events: CloudEvent[] = [];
  for (;;) {
    let best: Cursor | undefined;
    let bestSequence = Number.POSITIVE_INFINITY;
    for (const cursor of cursors) {
      if (cursor.next >= cursor.entries.length) continue;
      const sequence = sequenceOf(cursor.entries[cursor.next][0]);
      if (sequence < bestSequence) {
        best = cursor;
        bestSequence = sequence;
      }
    }
    if (!best) return events;
    const [, fields] = best.entries[best.next++];
    if (best.next >= best.entries.length && !best.done) await refill(best, bestSequence);
    const recorded = recordedOfEntry(fields);
    if (until !== undefined && recorded >= until) return events;
    if (since !== undefined && recorded < since) continue;
    if (!matchesTypes(types, typeOfEntry(fields) ?? '')) continue;
    const { event } = decodeEntry(bestSequence, fields);
    if (query.subject !== undefined && event.subject !== query.subject) continue;
    events.push(event);
    if (events.length >= limit) return events;
  }
}
