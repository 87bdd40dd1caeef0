/**
 * The Redis keys of one log. Every key starts with the prefix in a hash tag (`{flamingo}:…`), so on
 * a Redis Cluster the whole log lives in one slot and the append script may touch any of its keys.
 *
 * | key | type | what |
 * |---|---|---|
 * | `meta` | hash | `partitions` (fixed at creation) |
 * | `seq` | string | the last sequence given out |
 * | `p:<n>` | stream | partition `n`: entry id `<sequence>-0`, fields `t` (type), `r` (recorded, ms), `e` (the event as appended) |
 * | `id:<identity key>` | string | `<sequence> <content digest>` of the event with that `source` + `id` (`identityKey`, `contentDigest`), for the duplicate window (`PX`) |
 * | `times` | sorted set | the first sequence of each append, scored by its recorded time (time positions) |
 * | `subs` | hash | subscription → `{ types, delayMs }` |
 * | `redrive:<sub>` | stream | dead letters sent back for redelivery |
 * | `retry:<sub>` | hash | sequence (or `r<redrive id>`) → retry state |
 * | `dead:<sub>` | sorted set + `deadinfo:<sub>` hash | dead letters by sequence |
 * | `lease:<sub>:<lane>`, `members:<sub>` | string, sorted set | which process works which lane |
 * | `consumers:<sub>` | hash | process (a member) → handlers it has attached |
 * | `epoch:<sub>` | string | bumped by each rewind |
 *
 * A subscription is a consumer group of its name on every partition stream and on its redrive stream.
 */
export interface Keys {
  readonly prefix: string;
  readonly meta: string;
  readonly seq: string;
  readonly times: string;
  readonly subs: string;
  partition(n: number): string;
  id(identityKey: string): string;
  redrive(subscription: string): string;
  retry(subscription: string): string;
  dead(subscription: string): string;
  deadInfo(subscription: string): string;
  lease(subscription: string, lane: number): string;
  members(subscription: string): string;
  consumers(subscription: string): string;
  epoch(subscription: string): string;
}

export function keysFor(prefix: string): Keys {
  const p = `{${prefix}}`;
  return {
    prefix,
    meta: `${p}:meta`,
    seq: `${p}:seq`,
    times: `${p}:times`,
    subs: `${p}:subs`,
    partition: (n) => `${p}:p:${n}`,
    id: (identityKey) => `${p}:id:${identityKey}`,
    redrive: (subscription) => `${p}:redrive:${subscription}`,
    retry: (subscription) => `${p}:retry:${subscription}`,
    dead: (subscription) => `${p}:dead:${subscription}`,
    deadInfo: (subscription) => `${p}:deadinfo:${subscription}`,
    lease: (subscription, lane) => `${p}:lease:${subscription}:${lane}`,
    members: (subscription) => `${p}:members:${subscription}`,
    consumers: (subscription) => `${p}:consumers:${subscription}`,
    epoch: (subscription) => `${p}:epoch:${subscription}`,
  };
}

/** Stream entry id of a sequence, and back. */
export const entryId = (sequence: number): string => `${sequence}-0`;
export const sequenceOf = (id: string): number => Number(id.slice(0, id.indexOf('-')));
