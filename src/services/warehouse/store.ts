import type { EventRow } from './rows.ts';
import type { WarehouseDialect } from './views.ts';

/** Protection of the process against one query. */
export interface QueryLimits {
  /** The query is cancelled after this long (milliseconds). */
  readonly timeoutMs: number;
  /** At most this many rows are returned; `truncated` says there were more. */
  readonly maxRows: number;
}

/** A query's answer, JSON-ready: numbers that fit exactly are numbers, larger ones strings, times RFC 3339. */
export interface QueryResult {
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  readonly rows: readonly Record<string, unknown>[];
  /** More rows than `maxRows` matched; only the first `maxRows` are here. */
  readonly truncated: boolean;
}

/** Why a query was refused or failed: the client's fault, answered with a 4xx naming the rule. */
export class QueryError extends Error {
  constructor(
    readonly code: 'invalid_query' | 'read_only' | 'query_timeout',
    message: string,
  ) {
    super(message);
    this.name = 'QueryError';
  }
}

/**
 * A rebuild is already running on this warehouse (in this process, or in another on the same
 * PostgreSQL schema): a second one would drop the first's copy under it.
 */
export class RebuildRunningError extends Error {
  override readonly name = 'RebuildRunningError';
}

/** What has landed. */
export interface LandingStats {
  /** Rows of `events` (one per event id). */
  readonly rows: number;
  /** The highest sequence landed (0 when empty). */
  readonly lastSequence: number;
}

/** A fresh copy of `events` being loaded by a rebuild; it replaces `events` at `finish`. */
export interface RebuildTarget {
  /**
   * Bulk-loads rows (each event id once: the log holds each id once). A backend may still be moving
   * them when this resolves (DuckDB stages them, `duckdb-bulk-load.ts`); all are in the copy once
   * `finish` resolves, and a failed load rejects a later `append` or `finish`.
   */
  append(rows: readonly EventRow[]): Promise<void>;
  /**
   * Appends what `remaining` returns (the log's events since the last `append`), then replaces
   * `events` (and its views) with the copy at once, for every reader. No landing runs meanwhile,
   * so nothing landed after the last read of the log is left out. Once it resolves the rebuild is
   * over; when it rejects, call `abandon`.
   */
  finish(remaining: () => Promise<readonly EventRow[]>): Promise<void>;
  /** Drops the copy, leaving `events` as it was, and ends the rebuild. */
  abandon(): Promise<void>;
}

/**
 * One warehouse database: DuckDB (embedded) or PostgreSQL (a schema of its own). Both keep exactly
 * one row per event (`source` + `id`) in `events` whatever is landed twice, and pass one test suite
 * (`warehouse.int.test.ts`).
 */
export interface WarehouseStore {
  readonly dialect: WarehouseDialect;
  /** The DuckDB file or the PostgreSQL schema. */
  readonly location: string;
  /** Lands rows in one transaction, skipping event ids already there; resolves to how many were new. */
  land(rows: readonly EventRow[]): Promise<number>;
  /**
   * Starts a rebuild (`rebuild.ts`). One at a time: throws `RebuildRunningError` while another
   * rebuild of this warehouse has started and neither finished nor been abandoned.
   */
  startRebuild(): Promise<RebuildTarget>;
  /**
   * Runs one read-only SQL statement. Read-only is enforced by the database (a read-only
   * transaction, a role or connection that may only read), not by reading the SQL.
   * Throws `QueryError` for a statement that fails, writes, or runs past the limits.
   */
  query(sql: string, limits: QueryLimits): Promise<QueryResult>;
  /** Rows of `events` in sequence order after `afterSequence` (export). */
  scan(afterSequence: number, limit: number): Promise<EventRow[]>;
  stats(): Promise<LandingStats>;
  close(): Promise<void>;
}

/** Runs writes one after another (one writer per database, DuckDB's rule too). */
export function serialWriter(): <T>(work: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return (work) => {
    const run = tail.then(work, work);
    tail = run.catch(() => undefined);
    return run;
  };
}

/** A JSON-ready value: exact numbers stay numbers, larger integers become strings, times ISO strings. */
export function jsonValue(value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(jsonValue);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const [k, v] of Object.entries(value)) out[k] = jsonValue(v);
    return out;
  }
  return value;
}

/** A DATE as `YYYY-MM-DD`. */
export function dateOnly(value: unknown): unknown {
  return value instanceof Date ? value.toISOString().slice(0, 10) : jsonValue(value);
}
