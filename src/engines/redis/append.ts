import type { Redis, Result } from 'ioredis';
import type { UnstoredEvent } from '../../contracts/index.ts';
import { contentDigest, identityKey, IdentityConflictError, partitionOf, type IdentityConflict, type PublishResult } from '../../bus/kit/index.ts';
import type { Keys } from './keys.ts';

/**
 * Appends a batch in one Lua script, which Redis runs atomically: nothing else runs between its
 * first and last write, and it checks every event before it writes anything. The events of a run
 * come from one or more append calls (`group`, contiguous), each all or nothing. For each event:
 * an identity (`source` + `id`) still in the duplicate window (`id:<identity key>`, or accepted
 * earlier in the same run) with the same content digest answers its first sequence, negated; with
 * another digest it is a conflict (answered `c<sequence>`) and nothing of its call is stored (the
 * call's other events answer 0); else the next sequence (`INCR seq`) becomes the entry id
 * `<sequence>-0` on the event's partition stream, with the server's clock as recorded time, and
 * `<sequence> <digest>` is remembered for `window` ms. A remembered value without a digest (written
 * before digests were kept) matches any content. Redis has no rollback, so "all or nothing" rests on
 * nothing failing inside the script: everything that could (serialising, the partition) is done
 * before it is sent.
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
local function at(i) return 2 + 4 * (i - 1) end
local decision = {}
local ref = {}
local accepted = {}
local i = 1
while i <= n do
  local group = ARGV[at(i) + 4]
  local last = i
  while last < n and ARGV[at(last + 1) + 4] == group do last = last + 1 end
  local bad = false
  local tentative = {}
  for j = i, last do
    local idKey = KEYS[2 + j]
    local digest = ARGV[at(j) + 3]
    local earlier = tentative[idKey] or accepted[idKey]
    if earlier then
      ref[j] = -earlier
      if ARGV[at(earlier) + 3] == digest then decision[j] = 'dup' else decision[j] = 'conflict'; bad = true end
    else
      local stored = redis.call('GET', idKey)
      if stored then
        local space = string.find(stored, ' ', 1, true)
        if space then
          ref[j] = tonumber(string.sub(stored, 1, space - 1))
          if string.sub(stored, space + 1) == digest then decision[j] = 'dup' else decision[j] = 'conflict'; bad = true end
        else
          ref[j] = tonumber(stored)
          decision[j] = 'dup'
        end
      else
        decision[j] = 'new'
        tentative[idKey] = j
      end
    end
  end
  if bad then
    for j = i, last do if decision[j] ~= 'conflict' then decision[j] = 'skip' end end
  else
    for k, v in pairs(tentative) do accepted[k] = v end
  end
  i = last + 1
end
local seqOf = {}
local first = nil
for j = 1, n do
  if decision[j] == 'new' then
    local seq = redis.call('INCR', KEYS[1])
    redis.call('XADD', KEYS[2 + n + j], seq .. '-0', 't', ARGV[at(j) + 1], 'r', now, 'e', ARGV[at(j) + 2])
    redis.call('SET', KEYS[2 + j], seq .. ' ' .. ARGV[at(j) + 3], 'PX', window)
    seqOf[j] = seq
    if not first then first = seq end
    out[j + 1] = seq
  end
end
for j = 1, n do
  local r = ref[j]
  if r and r < 0 then r = seqOf[-r] or 0 end
  if decision[j] == 'dup' then out[j + 1] = -r
  elseif decision[j] == 'conflict' then out[j + 1] = 'c' .. r
  elseif decision[j] == 'skip' then out[j + 1] = 0 end
end
if first then redis.call('ZADD', KEYS[2], now, first) end
return out
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    flamingoAppend(...args: (string | number)[]): Result<(number | string)[], Context>;
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
  readonly source: string;
  readonly idKey: string;
  readonly digest: string;
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

  /** One script run over the calls of `group` (each all or nothing); a call with a conflict gets an `IdentityConflictError`. */
  const run = async (group: readonly (readonly Prepared[])[]): Promise<(PublishResult[] | IdentityConflictError)[]> => {
    const events = group.flat();
    const args: (string | number)[] = [2 + 2 * events.length, keys.seq, keys.times];
    for (const p of events) args.push(p.idKey);
    for (const p of events) args.push(p.stream);
    args.push(settings.duplicateWindowMs, events.length);
    group.forEach((call, index) => {
      for (const p of call) args.push(p.type, p.payload, p.digest, index);
    });
    const out = await redis.flamingoAppend(...args);
    let offset = 0;
    return group.map((call) => {
      const answers = out.slice(offset + 1, offset + 1 + call.length);
      offset += call.length;
      const conflicts: IdentityConflict[] = [];
      answers.forEach((answer, index) => {
        if (typeof answer === 'string' && answer.startsWith('c')) conflicts.push({ index, id: call[index].id, source: call[index].source, sequence: Number(answer.slice(1)) });
      });
      if (conflicts.length > 0) return new IdentityConflictError(conflicts);
      return call.map((p, index) => {
        const sequence = Number(answers[index]);
        return { id: p.id, sequence: Math.abs(sequence), duplicate: sequence < 0 };
      });
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
          for (let start = 0; start < size; start += SCRIPT_BATCH) {
            const [part] = await run([group[0].events.slice(start, start + SCRIPT_BATCH)]);
            if (part instanceof IdentityConflictError) {
              throw new IdentityConflictError(part.conflicts.map((c) => ({ ...c, index: c.index + start })));
            }
            results.push(...part);
          }
          group[0].resolve(results);
          continue;
        }
        const answers = await run(group.map((pending) => pending.events));
        group.forEach((pending, index) => {
          const answer = answers[index];
          if (answer instanceof IdentityConflictError) pending.reject(answer);
          else pending.resolve(answer);
        });
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
        source: event.source,
        idKey: keys.id(identityKey(event)),
        digest: contentDigest(event),
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
