import type { Redis } from 'ioredis';
import { sequenceOf } from './keys.ts';

/** One `XINFO` entry (a flat list of names and values) as a record. */
export function infoRecord(flat: readonly unknown[]): Record<string, unknown> {
  const info: Record<string, unknown> = {};
  for (let i = 0; i < flat.length; i += 2) info[String(flat[i])] = flat[i + 1];
  return info;
}

/** `XINFO GROUPS` of one stream: each group's pending count, last delivered id and lag (null when Redis does not know it). */
export async function groupsOf(redis: Redis, stream: string): Promise<Map<string, { pending: number; lastDelivered: string; lag: number | null }>> {
  const groups = new Map<string, { pending: number; lastDelivered: string; lag: number | null }>();
  const raw = (await redis.xinfo('GROUPS', stream).catch(() => [])) as unknown[][];
  for (const flat of raw) {
    const info = infoRecord(flat);
    groups.set(String(info.name), { pending: Number(info.pending), lastDelivered: String(info['last-delivered-id']), lag: info.lag === null || info.lag === undefined ? null : Number(info.lag) });
  }
  return groups;
}

/**
 * The sequence below which a group has finished a stream: everything before its first pending
 * entry, or everything it was handed when none is pending.
 */
export async function finishedBelow(redis: Redis, stream: string, group: string, pending: number, lastDelivered: string): Promise<number> {
  if (pending > 0) {
    const [, first] = (await redis.xpending(stream, group)) as [number, string | null, string | null, unknown];
    if (first) return sequenceOf(first);
  }
  return sequenceOf(lastDelivered) + 1;
}
