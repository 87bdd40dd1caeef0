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
/**
 * Script runs awaiting their reply at once: while Redis runs one, the next is already on the wire
 * (Redis runs them one after the other; this hides the round trip, not the work).
 */
const SCRIPTS_IN_FLIGHT = 4;

export interface AppendSettings {
  readonly keys: Keys;
  readonly partitions: number;
  readonly duplicateWindowMs: number;
}

interface Prepared {
  readonly id: string;
  readonly idKey: string;
  readonly stream: string;
  readonly type: string;
  readonly payload: string;
}

interface Pending {
  readonly events: readonly Prepared[];
  readonly resolve: (results: PublishResult[]) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Appends through the script with group commit: the calls made while scripts are out go
 * together in the next one (up to 500 events), so many concurrent publishes cost one round trip
 * and one `times` entry. A call of more than 500 events runs alone, as several scripts in a row:
 * atomic per 500 events and idempotent as a whole (sending it again stores only what is missing).
 * When a script fails, every call in it fails; one whose reply was lost (a dropped connection) may
 * have been stored, and sending it again answers `duplicate: true` within the duplicate window.
 */
export interface Appender {
  append(events: readonly UnstoredEvent[]): Promise<PublishResult[]>;
}

export function createAppender(redis: Redis, settings: AppendSettings): Appender {
  const { keys, partitions } = settings;
  const queue: Pending[] = [];
  let inFlight = 0;

  const run = async (events: readonly Prepared[]): Promise<PublishResult[]> => {
    const args: (string | number)[] = [2 + 2 * events.length, keys.seq, keys.times];
    for (const p of events) args.push(p.idKey);
    for (const p of events) args.push(p.stream);
    args.push(settings.duplicateWindowMs, events.length);
    for (const p of events) args.push(p.type, p.payload);
    const out = await redis.flamingoAppend(...args);
    return events.map((p, i) => {
      const sequence = Number(out[i + 1]);
      return { id: p.id, sequence: Math.abs(sequence), duplicate: sequence < 0 };
    });
  };

  /** One of up to `SCRIPTS_IN_FLIGHT` senders: takes groups off the queue until it is empty. */
  const drain = async (): Promise<void> => {
    inFlight += 1;
    while (queue.length > 0) {
      const group: Pending[] = [];
      let size = 0;
      while (queue.length > 0 && (group.length === 0 || size + queue[0].events.length <= SCRIPT_BATCH)) {
        const next = queue.shift()!;
        group.push(next);
        size += next.events.length;
      }
      try {
        if (group.length === 1 && size > SCRIPT_BATCH) {
          const results: PublishResult[] = [];
          for (let start = 0; start < size; start += SCRIPT_BATCH) results.push(...(await run(group[0].events.slice(start, start + SCRIPT_BATCH))));
          group[0].resolve(results);
          continue;
        }
        const results = await run(group.flatMap((pending) => pending.events));
        let offset = 0;
        for (const pending of group) {
          pending.resolve(results.slice(offset, offset + pending.events.length));
          offset += pending.events.length;
        }
      } catch (error) {
        for (const pending of group) pending.reject(error);
      }
    }
    inFlight -= 1;
  };

  return {
    append(events) {
      // Serialised up front: an event that cannot be stored fails its call before anything is sent.
      const prepared = events.map((event) => ({
        id: event.id,
        idKey: keys.id(event.id),
        stream: keys.partition(partitionOf(event.partitionkey ?? event.id, partitions)),
        type: event.type,
        payload: JSON.stringify(event),
      }));
      return new Promise<PublishResult[]>((resolve, reject) => {
        queue.push({ events: prepared, resolve, reject });
        if (inFlight < SCRIPTS_IN_FLIGHT) void drain();
      });
    },
  };
}
