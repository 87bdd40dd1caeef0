import type { Redis, Result } from 'ioredis';
import type { UnstoredEvent } from '../../contracts/index.ts';
import { partitionOf, type PublishResult } from '../../bus/kit/index.ts';
import type { Keys } from './keys.ts';

/**
 * Appends a batch in one Lua script, which Redis runs atomically: nothing else runs between its
 * first and last write, and it checks every id before it writes anything. For each event: an id
 * still in the duplicate window (`id:<event id>`, or earlier in the same batch) answers its first
 * sequence, negated; else the next sequence (`INCR seq`) becomes the entry id `<sequence>-0` on the
 * event's partition stream, with the server's clock as recorded time, and the id is remembered for
 * `window` ms. Redis has no rollback, so "all or nothing" rests on nothing failing inside the
 * script: everything that could (serialising, the partition) is done before it is sent.
 *
 * Durability is the server's: the reply is sent after the write reaches the AOF — and, with
 * `appendfsync always`, after it is fsync'd (see durability.ts).
 */
const APPEND = `
local n = tonumber(ARGV[2])
local window = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = { now }
local batch = {}
local first = nil
for i = 1, n do
  local idKey = KEYS[2 + i]
  local existing = batch[idKey] or redis.call('GET', idKey)
  if existing then
    out[i + 1] = -tonumber(existing)
  else
    local seq = redis.call('INCR', KEYS[1])
    redis.call('XADD', KEYS[2 + n + i], seq .. '-0', 't', ARGV[1 + 2 * i], 'r', now, 'e', ARGV[2 + 2 * i])
    redis.call('SET', idKey, seq, 'PX', window)
    batch[idKey] = seq
    if not first then first = seq end
    out[i + 1] = seq
  end
end
if first then redis.call('ZADD', KEYS[2], now, first) end
return out
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    flamingoAppend(...args: (string | number)[]): Result<number[], Context>;
  }
}

/** Registers the script on a connection (`EVALSHA`, loaded on first use). */
export function defineAppend(redis: Redis): void {
  redis.defineCommand('flamingoAppend', { lua: APPEND });
}

/** Most events in one script run: long scripts block the server for everyone else. */
const SCRIPT_BATCH = 500;

export interface AppendSettings {
  readonly keys: Keys;
  readonly partitions: number;
  readonly duplicateWindowMs: number;
}

/**
 * Stores the events; a batch longer than `SCRIPT_BATCH` runs as several scripts in a row, so it is
 * atomic per 500 events and idempotent as a whole (sending it again stores only what is missing).
 */
export async function appendEvents(redis: Redis, events: readonly UnstoredEvent[], settings: AppendSettings): Promise<PublishResult[]> {
  const { keys, partitions } = settings;
  // Serialised up front: an event that cannot be stored fails the call before anything is written.
  const prepared = events.map((event) => ({
    id: event.id,
    idKey: keys.id(event.id),
    stream: keys.partition(partitionOf(event.partitionkey ?? event.id, partitions)),
    type: event.type,
    payload: JSON.stringify(event),
  }));
  const results: PublishResult[] = [];
  for (let start = 0; start < prepared.length; start += SCRIPT_BATCH) {
    const slice = prepared.slice(start, start + SCRIPT_BATCH);
    const args: (string | number)[] = [2 + 2 * slice.length, keys.seq, keys.times];
    for (const p of slice) args.push(p.idKey);
    for (const p of slice) args.push(p.stream);
    args.push(settings.duplicateWindowMs, slice.length);
    for (const p of slice) args.push(p.type, p.payload);
    const out = await redis.flamingoAppend(...args);
    slice.forEach((p, i) => {
      const sequence = Number(out[i + 1]);
      results.push({ id: p.id, sequence: Math.abs(sequence), duplicate: sequence < 0 });
    });
  }
  return results;
}
