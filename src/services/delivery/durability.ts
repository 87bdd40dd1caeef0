import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../../platform/db.ts';

/**
 * The delivery database on SQLite commits without an fsync each time (WAL, `synchronous=NORMAL`):
 * at a paced rate every attempt record and limiter reservation is a transaction of its own, and an
 * fsync each on the event loop cost more than the request itself. Nothing here acknowledges a
 * producer's event (the bus log keeps its own durability): a killed process loses nothing (WAL
 * pages are in the OS), a power cut at most the last moments of the attempt log and limiter state
 * — after which the target's own 429s pace the first requests.
 */
export async function relaxDurability(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  if (dialect === 'sqlite') await sql`pragma synchronous = normal`.execute(db);
}
