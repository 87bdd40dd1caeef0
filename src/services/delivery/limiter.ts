/**
 * The per-target limiter, run before every request: a GCRA (generic cell rate algorithm, the
 * token bucket expressed as one timestamp) whose state is a row of the service's database, so
 * every process delivering for the target shares it and a restart resumes it (no burst past the
 * limit after a crash).
 *
 * Hand-written because no library fits: `rate-limiter-flexible` (the well-kept choice, with
 * PostgreSQL and SQLite stores) counts fixed windows, which allow twice the limit across a window
 * edge, answers only "allowed or not" (we need "your slot is at t", so callers wait instead of
 * polling), keeps its own tables and connections outside the service's migrations, and has no
 * notion of a pause the target imposes (Retry-After) or of the target's own bucket level.
 *
 * A caller reserves a slot (`acquire`): `allowedAt = max(now, tat − τ, pausedUntil)` with
 * `T = interval / limit · (1 + PACING_MARGIN)` and `τ = (burst − 1)·T`; then `tat = max(tat, allowedAt) + T`. The
 * caller sleeps until `allowedAt`, and checks the pause again (a 429 may have come meanwhile). A
 * process reserves about 50 ms of slots per write and hands them out in order. A reservation lost
 * in a crash only leaves a gap, never an excess. On PostgreSQL the clock is the
 * database's, so processes on several machines agree.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Dialect } from '../../platform/db.ts';
import type { DeliveryDatabase } from './store.ts';

/**
 * How much slower than the limit the slots are spaced: a target counts requests as they arrive, and
 * the network's jitter can bring two requests paced exactly at the limit closer together, so that
 * a window of the target's counts one too many. 1 % costs 1 % of the rate.
 */
export const PACING_MARGIN = 0.01;

export interface RateLimit {
  /** Requests per `intervalMs`. */
  readonly limit: number;
  readonly intervalMs: number;
  /** Requests that may go at once after a quiet time (the bucket size). */
  readonly burst: number;
}

export interface LimiterState {
  readonly pausedUntil: number;
  readonly pauseReason: string | null;
  /** Requests the limiter would let go right now. */
  readonly available: number;
  readonly learnedSize: number | null;
  /** The target's own pace (ms per request) when it told one. */
  readonly learnedIntervalMs: number | null;
}

export interface Limiter {
  /**
   * Waits until the target may get one more request; resolves to the time waited (ms). Rejects
   * with the signal's reason when `signal` aborts first.
   */
  acquire(targetId: string, rate: RateLimit, signal?: AbortSignal): Promise<number>;
  /** No request before `until` (ms since the epoch); the first after it, then the steady rate. */
  pause(targetId: string, rate: RateLimit, until: number, reason: string): Promise<void>;
  /** The target says its bucket holds `used` of `size`: we let no more go at once than it has room for. */
  observeFill(targetId: string, rate: RateLimit, used: number, size: number): Promise<void>;
  /**
   * The target says how fast it restores (ms per request): a pace slower than the configured one
   * wins from now on.
   */
  observePace(targetId: string, intervalMs: number): Promise<void>;
  state(targetId: string, rate: RateLimit): Promise<LimiterState>;
  /** Forgets a removed target's state. */
  remove(targetId: string): Promise<void>;
}

type Row = DeliveryDatabase['delivery_limiters'];

export function createLimiter(db: Kysely<DeliveryDatabase>, dialect: Dialect): Limiter {
  /** Pauses this process has been told of (ms since the epoch), ahead of their transaction. */
  const pausedHere = new Map<string, number>();
  const now = async (trx: Transaction<DeliveryDatabase>): Promise<number> => {
    if (dialect === 'sqlite') return Date.now();
    const { rows } = await sql<{ now: number }>`select (extract(epoch from clock_timestamp()) * 1000)::float8 as now`.execute(trx);
    return Number(rows[0]!.now);
  };

  /** The row, locked for this transaction (created when missing). */
  const load = async (trx: Transaction<DeliveryDatabase>, targetId: string): Promise<Row> => {
    await trx.insertInto('delivery_limiters').values({ target_id: targetId, tat: 0, paused_until: 0, pause_reason: null, learned_size: null, learned_interval_ms: null }).onConflict((c) => c.column('target_id').doNothing()).execute();
    let query = trx.selectFrom('delivery_limiters').selectAll().where('target_id', '=', targetId);
    if (dialect === 'postgres') query = query.forUpdate();
    return (await query.executeTakeFirstOrThrow()) as Row;
  };

  const shape = (rate: RateLimit, row: Pick<Row, 'learned_size' | 'learned_interval_ms'>) => {
    // The slower of the configured pace (with its jitter margin) and the one the target told.
    const T = Math.max((rate.intervalMs / rate.limit) * (1 + PACING_MARGIN), Number(row.learned_interval_ms ?? 0));
    const burst = Math.max(1, Math.min(rate.burst, row.learned_size ?? rate.burst));
    return { T, tau: (burst - 1) * T, burst };
  };

  /** Reserves `count` consecutive slots; resolves to each one's wait from now (ms). */
  const reserve = (targetId: string, rate: RateLimit, count: number) =>
    db.transaction().execute(async (trx) => {
      const row = await load(trx, targetId);
      const t = await now(trx);
      const { T, tau } = shape(rate, row);
      let tat = Number(row.tat);
      const waits: number[] = [];
      for (let i = 0; i < count; i += 1) {
        const allowedAt = Math.max(t, tat - tau, Number(row.paused_until));
        tat = Math.max(tat, allowedAt) + T;
        waits.push(allowedAt - t);
      }
      await trx.updateTable('delivery_limiters').set({ tat }).where('target_id', '=', targetId).execute();
      return waits;
    });

  /** How long the target is still paused (ms; ≤ 0 when it is not): one read, no transaction. */
  const pausedFor = async (targetId: string): Promise<number> => {
    if (dialect === 'sqlite') {
      const row = await db.selectFrom('delivery_limiters').select(['paused_until']).where('target_id', '=', targetId).executeTakeFirst();
      return row ? Number(row.paused_until) - Date.now() : 0;
    }
    const { rows } = await sql<{ left: number }>`select (paused_until - extract(epoch from clock_timestamp()) * 1000)::float8 as left from delivery_limiters where target_id = ${targetId}`.execute(db);
    return rows[0] ? Number(rows[0].left) : 0;
  };

  /**
   * Slots reserved in the database but not handed out yet, per target, as local monotonic instants.
   * Reserving a few at a time (about 50 ms worth) spares a write per request; a crash loses at most
   * those, which leaves a gap, never an excess.
   */
  const blocks = new Map<string, { slots: number[]; refill?: Promise<void> }>();
  const nextSlot = async (targetId: string, rate: RateLimit): Promise<number> => {
    let block = blocks.get(targetId);
    if (!block) blocks.set(targetId, (block = { slots: [] }));
    while (block.slots.length === 0) {
      const current = block;
      current.refill ??= (async () => {
        const perSecond = (rate.limit * 1000) / rate.intervalMs;
        const count = Math.max(1, Math.min(rate.burst, Math.round(perSecond / 20)));
        const at = performance.now();
        const waits = await reserve(targetId, rate, count);
        current.slots.push(...waits.map((w) => at + w));
      })().finally(() => (current.refill = undefined));
      await current.refill;
      // A pause dropped the block meanwhile: reserve again after it.
      if (blocks.get(targetId) !== current) {
        block = blocks.get(targetId) ?? { slots: [] };
        blocks.set(targetId, block);
      }
    }
    return block.slots.shift()!;
  };

  /**
   * Slots that came due while this process could not run (a blocked event loop) go out together
   * when it runs again. That catch-up is kept, but within what GCRA itself allows over the last
   * 10 s (`burst − 1 + 10 s / T` sends): what this process hands out never exceeds the limit over
   * any 10 s window, and the time lost to a stall is made up where that window has room.
   */
  const recent = new Map<string, number[]>();
  const WINDOW_MS = 10_000;
  const withinWindow = async (targetId: string, rate: RateLimit, signal?: AbortSignal) => {
    const { T, burst } = shape(rate, { learned_size: null, learned_interval_ms: null });
    const capacity = Math.max(1, Math.min(100_000, burst - 1 + Math.floor(WINDOW_MS / T)));
    let sent = recent.get(targetId);
    if (!sent) recent.set(targetId, (sent = []));
    for (;;) {
      const t = performance.now();
      let old = 0;
      while (old < sent.length && sent[old]! <= t - WINDOW_MS) old += 1;
      if (old > 0) sent.splice(0, old);
      if (sent.length < capacity) {
        sent.push(t);
        return;
      }
      await sleep(sent[0]! + WINDOW_MS - t + 0.5, signal);
    }
  };

  return {
    async acquire(targetId, rate, signal) {
      const started = performance.now();
      for (;;) {
        signal?.throwIfAborted();
        const slot = await nextSlot(targetId, rate);
        const wait = slot - performance.now();
        if (wait > 0) await sleep(wait, signal);
        // A pause that came while we slept (a 429 to another request) wins over our slot.
        const paused = await pausedFor(targetId);
        if (paused > 0) {
          blocks.delete(targetId);
          continue;
        }
        await withinWindow(targetId, rate, signal);
        // The last look, with no turn of the event loop before the request goes: a pause this
        // process learnt while the checks above awaited their answers.
        if ((pausedHere.get(targetId) ?? 0) > Date.now()) {
          blocks.delete(targetId);
          continue;
        }
        return performance.now() - started;
      }
    },
    pause: (targetId, rate, until, reason) => {
      // Known here at once, before the transaction (whose answer takes turns of the event loop):
      // a request of this process that got its slot meanwhile still waits.
      if (until > (pausedHere.get(targetId) ?? 0)) pausedHere.set(targetId, until);
      return db.transaction().execute(async (trx) => {
        blocks.delete(targetId);
        const row = await load(trx, targetId);
        const { tau } = shape(rate, row);
        if (until <= Number(row.paused_until)) return;
        // At `until` the target's bucket has room for one: ours is full then, so no burst follows.
        await trx
          .updateTable('delivery_limiters')
          .set({ paused_until: until, pause_reason: reason, tat: Math.max(Number(row.tat), until + tau) })
          .where('target_id', '=', targetId)
          .execute();
      });
    },
    async observeFill(targetId, rate, used, size) {
      const learned = size > 0 && size < rate.burst ? size : null;
      const known = await db.selectFrom('delivery_limiters').select(['tat', 'learned_size', 'learned_interval_ms']).where('target_id', '=', targetId).executeTakeFirst();
      const { T, burst } = shape(rate, { learned_size: learned, learned_interval_ms: known?.learned_interval_ms ?? null });
      // The target has room for `size − used` more; we allow `burst − fill` (GCRA: fill is
      // (tat − now) / T). Ours must not be the larger: fill ≥ burst − (size − used).
      const fill = Math.max(0, burst - (size - used));
      // Most replies say nothing new: a read first spares a write per request.
      if (known && Number(known.tat) >= Date.now() + fill * T && known.learned_size === learned) return;
      await db.transaction().execute(async (trx) => {
        const current = await load(trx, targetId);
        const t = await now(trx);
        await trx
          .updateTable('delivery_limiters')
          .set({ tat: Math.max(Number(current.tat), t + fill * T), learned_size: learned })
          .where('target_id', '=', targetId)
          .execute();
      });
    },
    async observePace(targetId, intervalMs) {
      if (!Number.isFinite(intervalMs) || intervalMs <= 0) return;
      const row = await db.selectFrom('delivery_limiters').select(['learned_interval_ms']).where('target_id', '=', targetId).executeTakeFirst();
      // Within 1 % of what we know: nothing to write.
      if (row?.learned_interval_ms && Math.abs(Number(row.learned_interval_ms) - intervalMs) <= intervalMs * 0.01) return;
      await db.transaction().execute(async (trx) => {
        await load(trx, targetId);
        await trx.updateTable('delivery_limiters').set({ learned_interval_ms: intervalMs }).where('target_id', '=', targetId).execute();
      });
      blocks.delete(targetId);
    },
    state: (targetId, rate) =>
      db.transaction().execute(async (trx) => {
        const row = await load(trx, targetId);
        const t = await now(trx);
        const { T, burst } = shape(rate, row);
        const fill = Math.max(0, (Number(row.tat) - t) / T);
        return {
          pausedUntil: Number(row.paused_until),
          pauseReason: Number(row.paused_until) > t ? row.pause_reason : null,
          available: Math.max(0, Math.floor(burst - fill)),
          learnedSize: row.learned_size,
          learnedIntervalMs: row.learned_interval_ms === null ? null : Number(row.learned_interval_ms),
        };
      }),
    async remove(targetId) {
      await db.deleteFrom('delivery_limiters').where('target_id', '=', targetId).execute();
    },
  };
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
