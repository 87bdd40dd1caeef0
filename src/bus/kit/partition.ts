/**
 * Key partitions, the same on every partitioned engine: FNV-1a (32 bit, UTF-8) of
 * `partitionkey ?? id`, modulo the log's partition count. The hash is part of the stored format:
 * changing it (or the partition count) on a log with data breaks per-key order.
 */

/** FNV-1a 32-bit over the UTF-8 bytes of `key`. */
export function fnv1a32(key: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(key, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The partition, 0 to `partitions − 1`, of an event whose key (or id) is `key`. */
export function partitionOf(key: string, partitions: number): number {
  return fnv1a32(key) % partitions;
}
