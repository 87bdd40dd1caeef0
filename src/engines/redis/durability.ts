import type { Redis } from 'ioredis';

/**
 * What a Redis server's persistence settings mean for acknowledged events, read with `CONFIG GET`
 * at start. Flamingo answers a publish once Redis has replied to the append script, and Redis
 * replies after the write is in its AOF buffer — written to the file and, with `appendfsync
 * always`, fsync'd before the reply (redis.io, "Redis persistence"):
 * - `appendonly yes` + `appendfsync always`: durable before the 2xx, like SQLite's `synchronous=FULL`.
 * - `appendonly yes` + `appendfsync everysec` (Redis's default when AOF is on): a crash of the Redis
 *   process loses nothing (the file is written), a power cut or kernel crash may lose the last second.
 * - `appendonly yes` + `appendfsync no`: the kernel decides when (often ~30 s) — a power cut loses that.
 * - `appendonly no`: events live in memory (and in RDB snapshots, if any): a restart of Redis loses
 *   everything since the last snapshot.
 */
export interface Durability {
  /** `always` is durable before acknowledgement; anything else can lose acknowledged events. */
  readonly level: 'fsync-always' | 'fsync-everysec' | 'fsync-os' | 'memory' | 'unknown';
  /** What can be lost, in a sentence; undefined when nothing acknowledged can be. */
  readonly warning?: string;
}

export async function checkDurability(redis: Redis): Promise<Durability> {
  let settings: Record<string, string>;
  try {
    const flat = (await redis.config('GET', 'append*')) as string[];
    settings = Object.fromEntries(Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i], flat[2 * i + 1]]));
  } catch (error) {
    return { level: 'unknown', warning: `cannot read the Redis persistence settings (CONFIG GET: ${(error as Error).message}); acknowledged events are only as safe as appendonly/appendfsync on the server` };
  }
  if (settings.appendonly !== 'yes') {
    return { level: 'memory', warning: 'Redis runs with appendonly no: acknowledged events are kept in memory only and a restart of Redis loses them; set appendonly yes and appendfsync always' };
  }
  if (settings.appendfsync === 'always') return { level: 'fsync-always' };
  if (settings.appendfsync === 'everysec') {
    return { level: 'fsync-everysec', warning: 'Redis runs with appendfsync everysec: a power cut or kernel crash can lose the last second of acknowledged events; set appendfsync always to fsync before every acknowledgement' };
  }
  return { level: 'fsync-os', warning: `Redis runs with appendfsync ${settings.appendfsync}: the operating system decides when the AOF reaches the disk, and a power cut can lose acknowledged events; set appendfsync always` };
}
