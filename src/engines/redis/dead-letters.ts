import type { Redis, Result } from 'ioredis';
import type { CloudEvent } from '../../contracts/index.ts';
import type { DeadLetter } from '../../bus/kit/index.ts';
import type { Keys } from './keys.ts';

/**
 * Dead letters and retry state of a subscription, in Redis:
 * - `retry:<sub>` hash: field = the sequence (or `r<redrive entry id>` for a dead letter sent back)
 *   → `{ attempts, at, error, first, last }`, kept while the entry stays pending in its group;
 * - `dead:<sub>` sorted set of sequences (so lists come in log order, paged by `afterSequence`)
 *   and `deadinfo:<sub>` hash: sequence → the dead letter with its event, so a dead letter outlives
 *   the trimming of its stream;
 * - `redrive:<sub>` stream: dead letters sent back, delivered again as fresh first attempts.
 */
export interface RetryState {
  readonly attempts: number;
  /** When to deliver it again (ms). */
  readonly at: number;
  readonly error: string;
  readonly first: number;
  readonly last: number;
}

/** A dead letter as stored (the subscription is the key's). */
export interface DeadRecord {
  readonly event: CloudEvent;
  readonly error: string;
  readonly attempts: number;
  readonly firstFailedAt: string;
  readonly lastFailedAt: string;
}

/** Sends one dead letter back only if it is still there, so two concurrent retries redeliver it once. */
const REDRIVE = `
local record = redis.call('HGET', KEYS[2], ARGV[1])
if not record or redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('XADD', KEYS[3], '*', 'd', record)
return 1
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    flamingoRedrive(dead: string, deadInfo: string, redrive: string, sequence: string): Result<number, Context>;
  }
}

export function defineDeadLetters(redis: Redis): void {
  redis.defineCommand('flamingoRedrive', { numberOfKeys: 3, lua: REDRIVE });
}

export function parseRetryState(raw: string | null | undefined): RetryState | undefined {
  if (!raw) return undefined;
  try {
    const state = JSON.parse(raw) as RetryState;
    return Number.isInteger(state.attempts) ? state : undefined;
  } catch {
    return undefined;
  }
}

export async function listDeadLetters(redis: Redis, keys: Keys, subscription: string, options?: { limit?: number; afterSequence?: number }): Promise<DeadLetter[]> {
  const limit = Number.isFinite(options?.limit) ? Math.min(1000, Math.max(1, Math.floor(options?.limit as number))) : 100;
  const sequences = await redis.zrangebyscore(keys.dead(subscription), `(${options?.afterSequence ?? 0}`, '+inf', 'LIMIT', 0, limit);
  if (sequences.length === 0) return [];
  const records = await redis.hmget(keys.deadInfo(subscription), ...sequences);
  return records.flatMap((raw) => (raw ? [{ subscription, ...(JSON.parse(raw) as DeadRecord) }] : []));
}

/** Sequences of the subscription's dead letters: all, or the one of `eventId`. */
async function deadSequences(redis: Redis, keys: Keys, subscription: string, eventId?: string): Promise<string[]> {
  const all = await redis.zrange(keys.dead(subscription), '0', '-1');
  if (eventId === undefined || all.length === 0) return all;
  const records = await redis.hmget(keys.deadInfo(subscription), ...all);
  return all.filter((_, i) => records[i] !== null && (JSON.parse(records[i]!) as DeadRecord).event.id === eventId);
}

export async function redriveDeadLetters(redis: Redis, keys: Keys, subscription: string, eventId?: string): Promise<number> {
  const sequences = await deadSequences(redis, keys, subscription, eventId);
  const done = await Promise.all(sequences.map((sequence) => redis.flamingoRedrive(keys.dead(subscription), keys.deadInfo(subscription), keys.redrive(subscription), sequence)));
  return done.reduce((sum, n) => sum + Number(n), 0);
}

export async function discardDeadLetters(redis: Redis, keys: Keys, subscription: string, eventId?: string): Promise<number> {
  const sequences = await deadSequences(redis, keys, subscription, eventId);
  if (sequences.length === 0) return 0;
  const [[, removed]] = (await redis.multi().zrem(keys.dead(subscription), ...sequences).hdel(keys.deadInfo(subscription), ...sequences).exec()) as [Error | null, number][];
  return Number(removed);
}
