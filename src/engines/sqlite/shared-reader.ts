import type Database from 'better-sqlite3';
import type { CloudEvent } from '../../contracts/index.ts';
import { toEvent, type EventRow, type TypeFilter } from './event-reader.ts';

/** An event read for subscriptions, shared by every subscription that reads it. */
export interface SharedEvent {
  readonly sequence: number;
  readonly recordedMs: number;
  readonly event: CloudEvent;
}

/** Matching events in `(after, scannedTo]`: every one of them, in order. */
interface Page {
  readonly after: number;
  readonly scannedTo: number;
  readonly events: readonly SharedEvent[];
}

/**
 * Rows read and parsed per query. Small: a page's events stay alive until every cursor has passed
 * it, and a short-lived page lets a lone subscription's events die young (cheap for the GC).
 */
export const PAGE_SIZE = 256;
/** Most pages and events kept per type filter, for readers far behind the others. */
const MAX_PAGES = 64;
const MAX_EVENTS = 8_000;

/** One subscription's way through the shared pages. */
export interface SharedCursor {
  /** At most `limit` matching events after `after`, and the sequence up to which the log was looked at. */
  read(after: number, limit: number): { events: readonly SharedEvent[]; scannedTo: number };
  /** The subscription stopped: it holds no page any more. */
  close(): void;
}

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
}

/**
 * The log as the subscriptions of one type filter read it: each stretch is read from SQLite and
 * parsed once, and every subscription passing through it gets the same event objects (three
 * subscriptions cost one read, not three). The log only grows, so a page never goes stale.
 */
export class SharedReader {
  private pages: Page[] = [];
  private cached = 0;
  /** Where each open cursor reads next: pages every cursor has passed are dropped. */
  private readonly next = new Map<object, number>();
  private readonly statement: Database.Statement;

  constructor(
    statementFor: (sql: string) => Database.Statement,
    private readonly filter: TypeFilter,
    /** The sequence of the last event on disk: pages end there. */
    private readonly head: () => number,
    /** Freezes the shared objects, so a handler that would change an event for the others fails instead. */
    private readonly freeze: boolean,
  ) {
    this.statement = statementFor(`SELECT sequence, recorded_ms, envelope FROM events WHERE sequence > ? AND sequence <= ? AND ${filter.sql} ORDER BY sequence LIMIT ?`);
  }

  cursor(): SharedCursor {
    const key = {};
    this.next.set(key, 0);
    return {
      read: (after, limit) => {
        const result = this.read(after, limit);
        this.next.set(key, result.scannedTo);
        this.dropPassed();
        return result;
      },
      close: () => {
        this.next.delete(key);
        this.dropPassed();
      },
    };
  }

  /** Drops the oldest pages while every cursor is past them, or while there are too many. */
  private dropPassed(): void {
    let slowest = Infinity;
    for (const sequence of this.next.values()) if (sequence < slowest) slowest = sequence;
    while (this.pages.length > 0 && (this.pages[0].scannedTo <= slowest || this.pages.length > MAX_PAGES || this.cached > MAX_EVENTS)) {
      this.cached -= this.pages[0].events.length;
      this.pages.shift();
    }
  }

  private read(after: number, limit: number): { events: readonly SharedEvent[]; scannedTo: number } {
    const page = this.find(after) ?? this.load(after);
    const events = page.events;
    // First event after `after` (binary search: pages are in sequence order).
    let lo = 0;
    let hi = events.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (events[mid].sequence <= after) lo = mid + 1;
      else hi = mid;
    }
    const end = Math.min(events.length, lo + limit);
    const taken = lo === 0 && end === events.length ? events : events.slice(lo, end);
    return { events: taken, scannedTo: end < events.length ? events[end - 1].sequence : page.scannedTo };
  }

  private find(after: number): Page | undefined {
    for (let i = this.pages.length - 1; i >= 0; i--) {
      const page = this.pages[i];
      if (page.after <= after && after < page.scannedTo) return page;
    }
    return undefined;
  }

  private load(after: number): Page {
    const head = this.head();
    const rows = this.statement.all(after, head, ...this.filter.params, PAGE_SIZE) as EventRow[];
    const events: SharedEvent[] = new Array<SharedEvent>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      const event = toEvent(row);
      if (this.freeze) deepFreeze(event);
      events[i] = { sequence: row.sequence, recordedMs: row.recorded_ms, event };
    }
    const page: Page = { after, scannedTo: rows.length === PAGE_SIZE ? rows[rows.length - 1].sequence : Math.max(head, after), events };
    if (page.scannedTo === after) return page;
    // Pages are kept in sequence order of `after` for dropping; a rewound reader may load an older one.
    let at = this.pages.length;
    while (at > 0 && this.pages[at - 1].after > after) at--;
    this.pages.splice(at, 0, page);
    this.cached += events.length;
    return page;
  }
}
