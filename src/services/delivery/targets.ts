/**
 * Targets: where a copy of matching events is pushed (a webhook endpoint or a shop platform's
 * API), each with its own bus subscription `delivery.<id>`, rate limit, timeout, retry schedule
 * and signing secrets.
 */
import { sql, type Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { Position, RetryPolicy } from '../../bus/index.ts';
import type { RateLimit } from './limiter.ts';
import type { SigningSecret } from './signing.ts';
import type { DeliveryDatabase } from './store.ts';

export type TargetStatus = 'active' | 'paused' | 'disabled';
export type CircuitState = 'closed' | 'open' | 'halfOpen';

export interface Target {
  readonly id: string;
  readonly name: string;
  readonly url: string;
  readonly types: readonly string[];
  readonly rateLimit: RateLimit;
  /** A reply later than this is a failure. */
  readonly timeoutMs: number;
  /** Requests in flight at once per process (the subscription's concurrency). */
  readonly maxInFlight: number;
  readonly ordering: 'key' | 'none';
  /** `structured`: the CloudEvent as the JSON body; `binary`: `data` as the body, attributes as `ce-` headers. */
  readonly contentMode: 'structured' | 'binary';
  readonly headers: Readonly<Record<string, string>>;
  readonly retry: Required<RetryPolicy>;
  readonly startAt: Position;
  readonly secrets: readonly SigningSecret[];
  readonly status: TargetStatus;
  readonly statusReason: string | null;
  readonly circuit: CircuitState;
  readonly circuitChangedAt: string | null;
  readonly revision: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** The bus subscription of a target. */
export const subscriptionOf = (targetId: string) => `delivery.${targetId}`;

/**
 * The default retry schedule, in the spirit of Standard Webhooks (Svix: 5 s, 5 min, 30 min, 2 h,
 * 5 h, 10 h, 10 h): from 5 s growing ×3 to at most 10 h, 15 attempts, about 2½ days in all.
 */
export const DEFAULT_RETRY: Required<RetryPolicy> = Object.freeze({ maxAttempts: 15, initialDelayMs: 5_000, maxDelayMs: 36_000_000, factor: 3, jitter: 0.2 });
export const DEFAULT_TIMEOUT_MS = 5_000;
export const DEFAULT_MAX_IN_FLIGHT = 4;
export const DEFAULT_RATE_LIMIT: RateLimit = Object.freeze({ limit: 10, intervalMs: 1_000, burst: 10 });

type Row = DeliveryDatabase['delivery_targets'];

export function targetOf(row: Row): Target {
  return {
    id: row.id,
    name: row.name,
    url: row.url,
    types: JSON.parse(row.types) as string[],
    rateLimit: { limit: row.rate_limit, intervalMs: row.rate_interval_ms, burst: row.burst },
    timeoutMs: row.timeout_ms,
    maxInFlight: row.max_in_flight,
    ordering: row.ordering as Target['ordering'],
    contentMode: row.content_mode as Target['contentMode'],
    headers: JSON.parse(row.headers) as Record<string, string>,
    retry: JSON.parse(row.retry) as Required<RetryPolicy>,
    startAt: JSON.parse(row.start_at) as Position,
    secrets: JSON.parse(row.secrets) as SigningSecret[],
    status: row.status as TargetStatus,
    statusReason: row.status_reason,
    circuit: row.circuit as CircuitState,
    circuitChangedAt: row.circuit_changed_at,
    revision: Number(row.revision),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export interface NewTarget {
  readonly name?: string;
  readonly url: string;
  readonly types: readonly string[];
  readonly rateLimit?: Partial<RateLimit>;
  readonly timeoutMs?: number;
  readonly maxInFlight?: number;
  readonly ordering?: Target['ordering'];
  readonly contentMode?: Target['contentMode'];
  readonly headers?: Readonly<Record<string, string>>;
  readonly retry?: RetryPolicy;
  readonly startAt?: Position;
  readonly secret: string;
}

/** What PATCH may change; a changed `types`/`ordering`/`retry`/`maxInFlight` restarts the subscription. */
export type TargetChanges = Partial<Omit<NewTarget, 'secret' | 'startAt'>>;

const rateOf = (rate: Partial<RateLimit> | undefined, base: RateLimit = DEFAULT_RATE_LIMIT): RateLimit => {
  const limit = rate?.limit ?? base.limit;
  return { limit, intervalMs: rate?.intervalMs ?? base.intervalMs, burst: rate?.burst ?? (rate?.limit !== undefined ? limit : base.burst) };
};

export function targetStore(db: Kysely<DeliveryDatabase>) {
  const find = async (id: string): Promise<Target | undefined> => {
    const row = await db.selectFrom('delivery_targets').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? targetOf(row as Row) : undefined;
  };
  const touch = (now = new Date().toISOString()) => ({ updated_at: now, revision: sql<number>`revision + 1` });

  return {
    find,
    async list(): Promise<Target[]> {
      const rows = await db.selectFrom('delivery_targets').selectAll().orderBy('created_at').orderBy('id').execute();
      return rows.map((row) => targetOf(row as Row));
    },
    async create(input: NewTarget): Promise<Target> {
      const now = new Date().toISOString();
      const id = uuidv7();
      await db
        .insertInto('delivery_targets')
        .values({
          id,
          name: input.name ?? new URL(input.url).host,
          url: input.url,
          types: JSON.stringify([...input.types]),
          rate_limit: rateOf(input.rateLimit).limit,
          rate_interval_ms: rateOf(input.rateLimit).intervalMs,
          burst: rateOf(input.rateLimit).burst,
          timeout_ms: input.timeoutMs ?? DEFAULT_TIMEOUT_MS,
          max_in_flight: input.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
          ordering: input.ordering ?? 'key',
          content_mode: input.contentMode ?? 'structured',
          headers: JSON.stringify(input.headers ?? {}),
          retry: JSON.stringify({ ...DEFAULT_RETRY, ...input.retry }),
          start_at: JSON.stringify(input.startAt ?? 'now'),
          secrets: JSON.stringify([{ secret: input.secret, createdAt: now, expiresAt: null }] satisfies SigningSecret[]),
          status: 'active',
          status_reason: null,
          circuit: 'closed',
          circuit_changed_at: null,
          revision: 1,
          created_at: now,
          updated_at: now,
        })
        .execute();
      return (await find(id))!;
    },
    async update(id: string, changes: TargetChanges): Promise<Target | undefined> {
      const current = await find(id);
      if (!current) return undefined;
      const rate = rateOf(changes.rateLimit, current.rateLimit);
      await db
        .updateTable('delivery_targets')
        .set({
          ...(changes.name !== undefined ? { name: changes.name } : {}),
          ...(changes.url !== undefined ? { url: changes.url } : {}),
          ...(changes.types !== undefined ? { types: JSON.stringify([...changes.types]) } : {}),
          rate_limit: rate.limit,
          rate_interval_ms: rate.intervalMs,
          burst: changes.rateLimit?.burst ?? (changes.rateLimit?.limit !== undefined ? Math.min(current.rateLimit.burst, rate.limit) : current.rateLimit.burst),
          ...(changes.timeoutMs !== undefined ? { timeout_ms: changes.timeoutMs } : {}),
          ...(changes.maxInFlight !== undefined ? { max_in_flight: changes.maxInFlight } : {}),
          ...(changes.ordering !== undefined ? { ordering: changes.ordering } : {}),
          ...(changes.contentMode !== undefined ? { content_mode: changes.contentMode } : {}),
          ...(changes.headers !== undefined ? { headers: JSON.stringify(changes.headers) } : {}),
          ...(changes.retry !== undefined ? { retry: JSON.stringify({ ...current.retry, ...changes.retry }) } : {}),
          ...touch(),
        })
        .where('id', '=', id)
        .execute();
      return find(id);
    },
    async setStatus(id: string, status: TargetStatus, reason: string | null): Promise<Target | undefined> {
      await db.updateTable('delivery_targets').set({ status, status_reason: reason, ...touch() }).where('id', '=', id).execute();
      return find(id);
    },
    async setSecrets(id: string, secrets: readonly SigningSecret[]): Promise<void> {
      // Not a revision change: secrets are read per request, the subscription keeps running.
      await db.updateTable('delivery_targets').set({ secrets: JSON.stringify(secrets), updated_at: new Date().toISOString() }).where('id', '=', id).execute();
    },
    async setCircuit(id: string, circuit: CircuitState): Promise<void> {
      await db.updateTable('delivery_targets').set({ circuit, circuit_changed_at: new Date().toISOString() }).where('id', '=', id).execute();
    },
    async remove(id: string): Promise<boolean> {
      const result = await db.deleteFrom('delivery_targets').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}

export type TargetStore = ReturnType<typeof targetStore>;
