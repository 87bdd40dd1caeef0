import type Database from 'better-sqlite3';
import { InvalidOptionsError, typeSelection, type ReadQuery, type TypeSelection } from '../../bus/kit/index.ts';
import type { CloudEvent } from '../../contracts/index.ts';
import type { TypeIndex } from './type-index.ts';

/** A stored row as read back: the envelope JSON without `sequence` and `recordedtime`. */
export interface EventRow {
  readonly sequence: number;
  readonly recorded_ms: number;
  readonly envelope: string;
}

/** A SQL condition on `type` and its parameters, and the selection it was made from. */
export interface TypeFilter {
  readonly sql: string;
  readonly params: readonly string[];
  readonly selection: TypeSelection;
}

/** The condition selecting the types of `patterns` (`order.placed`, `order.*`, `*`). */
export function typeFilter(patterns: readonly string[]): TypeFilter {
  const selection = typeSelection(patterns);
  if (selection.all) return { sql: '1', params: [], selection };
  const parts: string[] = [];
  const params: string[] = [];
  if (selection.exact.length > 0) {
    parts.push(`type IN (${selection.exact.map(() => '?').join(', ')})`);
    params.push(...selection.exact);
  }
  for (const prefix of selection.prefixes) {
    parts.push(`substr(type, 1, ${prefix.length}) = ?`);
    params.push(prefix);
  }
  return { sql: `(${parts.join(' OR ')})`, params, selection };
}

let isoMs = NaN;
let isoText = '';
/** RFC 3339 of a recorded instant; events of one commit share it, so the last one is remembered. */
function recordedIso(ms: number): string {
  if (ms !== isoMs) {
    isoMs = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
}

/** The stored event of a row, with its engine-assigned `sequence` and `recordedtime`. */
export function toEvent(row: EventRow): CloudEvent {
  const event = JSON.parse(row.envelope) as CloudEvent;
  event.sequence = row.sequence;
  event.recordedtime = recordedIso(row.recorded_ms);
  return event;
}

function instant(name: string, value: Date | string): number {
  const ms = new Date(value).getTime();
  if (Number.isNaN(ms)) throw new InvalidOptionsError(`${name} must be a date-time, got ${String(value)}`);
  return ms;
}

/** Queries of the log that are not a subscription's own: `read`, positions of instants, counts. */
export class EventReader {
  private readonly statements = new Map<string, Database.Statement>();
  private readonly bySequence: Database.Statement<[number], EventRow>;
  private readonly lastBefore: Database.Statement<[number], number | null>;

  constructor(
    private readonly db: Database.Database,
    /** The types of the events stored since the engine opened (the log writer's). */
    private readonly index: TypeIndex,
  ) {
    this.bySequence = db.prepare<[number], EventRow>('SELECT sequence, recorded_ms, envelope FROM events WHERE sequence = ?');
    this.lastBefore = db.prepare<[number], number | null>('SELECT max(sequence) FROM events WHERE recorded_ms < ?').pluck();
  }

  /** A prepared statement per distinct SQL text (subscriptions and reads reuse theirs). */
  statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  read(query: ReadQuery): CloudEvent[] {
    const conditions = ['sequence > ?'];
    const params: (string | number)[] = [query.afterSequence ?? 0];
    if (query.types && query.types.length > 0) {
      const filter = typeFilter(query.types);
      conditions.push(filter.sql);
      params.push(...filter.params);
    }
    if (query.subject !== undefined) {
      conditions.push('subject = ?');
      params.push(query.subject);
    }
    if (query.since !== undefined) {
      conditions.push('recorded_ms >= ?');
      params.push(instant('since', query.since));
    }
    if (query.until !== undefined) {
      conditions.push('recorded_ms < ?');
      params.push(instant('until', query.until));
    }
    const limit = Number.isFinite(query.limit) ? Math.min(1000, Math.max(1, Math.floor(query.limit as number))) : 100;
    const sql = `SELECT sequence, recorded_ms, envelope FROM events WHERE ${conditions.join(' AND ')} ORDER BY sequence LIMIT ${limit}`;
    return (this.statement(sql).all(...params) as EventRow[]).map(toEvent);
  }

  /** The event at a sequence, if stored. */
  at(sequence: number): CloudEvent | undefined {
    const row = this.bySequence.get(sequence);
    return row ? toEvent(row) : undefined;
  }

  /** The last sequence recorded before `time` (0 when none): a position whose next event is the first at `time`. */
  positionBefore(time: Date | string): number {
    return this.lastBefore.get(instant('time', time)) ?? 0;
  }

  /** Matching events after `sequence`: from the index when it holds them all, else by a scan of the rows. */
  countAfter(filter: TypeFilter, sequence: number): number {
    return this.index.count(filter.selection, sequence) ?? this.countRowsAfter(filter, sequence);
  }

  /** Matching events after `sequence`, counted in the log itself. */
  countRowsAfter(filter: TypeFilter, sequence: number): number {
    return this.statement(`SELECT count(*) FROM events WHERE sequence > ? AND ${filter.sql}`)
      .pluck()
      .get(sequence, ...filter.params) as number;
  }
}
