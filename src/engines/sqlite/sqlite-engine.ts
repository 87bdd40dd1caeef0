import path from 'node:path';
import type Database from 'better-sqlite3';
import {
  EngineClosedError,
  InvalidOptionsError,
  runningSubscriptions,
  UnknownSubscriptionError,
  type Engine,
  type Position,
  type ResolvedSubscriptionOptions,
  type SubscriptionInfo,
} from '../../bus/kit/index.ts';
import { EventReader, typeFilter, type TypeFilter } from './event-reader.ts';
import { LogWriter, type LogWriterStats } from './log-writer.ts';
import { startCheckpointer, type Checkpointer } from './checkpointer.ts';
import { claimLog, openLogDatabase } from './schema.ts';
import { SharedReader } from './shared-reader.ts';
import { StateStore, type SubscriptionRow } from './state-store.ts';
import { SubscriptionFeed, type FeedContext } from './subscription-feed.ts';

export interface SqliteEngineOptions {
  /** The log file (created with its directory when missing). One process owns a log file at a time. */
  readonly file: string;
  /**
   * Longest time acknowledgements and retry state wait to be written when no append carries them
   * (ms). A crash redelivers at most the events acknowledged in this window. (Default: 50)
   */
  readonly stateFlushMs?: number;
  /**
   * Subscriptions of this process share the event objects they are handed (each stretch of the log
   * is read and parsed once), so handlers must not change events. Frozen, a change throws instead.
   * (Default: true when NODE_ENV is `test` or `development`, false otherwise, where freezing costs time)
   */
  readonly freezeEvents?: boolean;
}

/** Pages the WAL may hold before the writer checkpoints itself (when no worker does it). */
const AUTOCHECKPOINT_PAGES = 4000;
/** How often the worker copies the WAL into the database file (ms). */
const CHECKPOINT_INTERVAL_MS = 200;
/**
 * Pages the WAL may hold while the worker checkpoints. Under steady writes the worker's PASSIVE
 * checkpoint never catches up with the newest commit, so the WAL would never restart and grow
 * without bound; past this size the writer checkpoints itself after a commit — cheap, since the
 * worker has already copied most pages — and the next commit starts the WAL from the beginning.
 */
const WORKER_AUTOCHECKPOINT_PAGES = 16_000;

/** Checkpoints from a worker thread; on any trouble the writer goes back to checkpointing itself. */
function startBackgroundCheckpoints(db: Database.Database, file: string): Checkpointer | undefined {
  if (file === ':memory:') return undefined;
  const fallBack = () => {
    if (db.open) db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
  };
  try {
    const checkpointer = startCheckpointer(path.resolve(file), CHECKPOINT_INTERVAL_MS, fallBack);
    db.pragma(`wal_autocheckpoint = ${WORKER_AUTOCHECKPOINT_PAGES}`);
    return checkpointer;
  } catch {
    fallBack();
    return undefined;
  }
}

/** The embedded engine, with what only it can tell. */
export interface SqliteEngine extends Engine {
  /** Write transactions and what they carried since the engine opened (group commit at work). */
  stats(): LogWriterStats;
}

/**
 * The embedded default engine: one SQLite file (WAL, `synchronous = FULL`) holding the log and the
 * subscriptions' state. Appends are group-committed; subscriptions in this process are pushed new
 * events as soon as they are committed.
 */
export function sqliteEngine(options: SqliteEngineOptions): SqliteEngine {
  const stateFlushMs = options.stateFlushMs ?? 50;
  if (!Number.isInteger(stateFlushMs) || stateFlushMs < 0) throw new InvalidOptionsError(`stateFlushMs must be an integer >= 0, got ${stateFlushMs}`);
  const claim = claimLog(options.file);
  const running = runningSubscriptions<SubscriptionFeed>();
  let db: Database.Database | undefined;
  let writer: LogWriter;
  let reader: EventReader;
  let store: StateStore;
  try {
    db = openLogDatabase(options.file);
    writer = new LogWriter(db, {
      stateFlushMs,
      onAppended: () => {
        for (const feed of running.all()) feed.onAppended();
      },
    });
    reader = new EventReader(db, writer.index);
    store = new StateStore(db);
  } catch (error) {
    db?.close();
    claim.release();
    throw error;
  }
  const checkpointer = startBackgroundCheckpoints(db, options.file);
  const freezeEvents = options.freezeEvents ?? (process.env.NODE_ENV === 'test' || process.env.NODE_ENV === 'development');
  const sharedReaders = new Map<string, SharedReader>();
  const readerFor = (filter: TypeFilter): SharedReader => {
    const key = JSON.stringify(filter);
    let shared = sharedReaders.get(key);
    if (!shared) {
      shared = new SharedReader((sql) => reader.statement(sql), filter, () => writer.head, freezeEvents);
      sharedReaders.set(key, shared);
    }
    return shared;
  };
  const feedContext: FeedContext = { reader, store, writer, readerFor };
  let closed = false;
  let closing: Promise<void> | undefined;

  const assertOpen = () => {
    if (closed) throw new EngineClosedError('sqlite');
  };

  /** Reads and writes of the admin API see every acknowledgement so far. */
  const subscriptionRow = (name: string): SubscriptionRow => {
    assertOpen();
    writer.flush();
    const row = store.get(name);
    if (!row) throw new UnknownSubscriptionError(name);
    return row;
  };

  /** The subscription's feed in this process, creating its row at `startAt` when new. */
  const start = (options: ResolvedSubscriptionOptions): SubscriptionFeed => {
    assertOpen();
    writer.flush();
    let row = store.get(options.name);
    if (!row) row = store.create(options.name, options.types, positionOf(options.startAt));
    else if (row.types.join() !== options.types.join()) store.setTypes(options.name, options.types);
    const feed = new SubscriptionFeed(feedContext, options, row);
    feed.start();
    return feed;
  };

  const positionOf = (position: Position): number => {
    if (position === 'beginning') return 0;
    if (position === 'now') return writer.head;
    if ('sequence' in position) return Math.max(0, position.sequence - 1);
    return reader.positionBefore(position.time);
  };

  const storedInfo = (row: SubscriptionRow): SubscriptionInfo => {
    let done = 0;
    for (const [first, last] of row.done) done += last - first + 1;
    return {
      name: row.name,
      types: row.types,
      position: row.position,
      lag: Math.max(0, reader.countAfter(typeFilter(row.types), row.position) - done),
      inFlight: 0,
      retrying: store.countRetrying(row.name),
      deadLetters: store.countDeadLetters(row.name),
      // Not running (this process owns the log): nothing holds events back for a delay.
      scheduled: 0,
      consumers: 0,
    };
  };

  return {
    name: 'sqlite',

    append(events) {
      return writer.append(events);
    },

    async read(query) {
      assertOpen();
      return reader.read(query);
    },

    async head() {
      assertOpen();
      return writer.head;
    },

    async consume(options, deliver) {
      assertOpen();
      return running.attach(options, deliver, start);
    },

    async subscriptions() {
      assertOpen();
      writer.flush();
      return store.all().map((row) => running.get(row.name)?.info() ?? storedInfo(row));
    },

    async rewind(subscription, to) {
      subscriptionRow(subscription);
      const position = positionOf(to);
      const feed = running.get(subscription);
      if (feed) await feed.rewind(position);
      else
        store.transaction(() => {
          store.deleteRetries(subscription);
          store.setPosition(subscription, position, []);
        });
    },

    async deadLetters(subscription, listOptions) {
      subscriptionRow(subscription);
      const limit = Number.isFinite(listOptions?.limit) ? Math.min(1000, Math.max(1, Math.floor(listOptions?.limit as number))) : 100;
      return store.deadLetters(subscription, listOptions?.afterSequence ?? 0, limit);
    },

    async retryDeadLetters(subscription, eventId) {
      subscriptionRow(subscription);
      const sequences = store.deadSequences(subscription, eventId);
      if (sequences.length === 0) return 0;
      const now = Date.now();
      store.transaction(() => {
        for (const sequence of sequences) {
          store.deleteDeadLetter(subscription, sequence);
          store.putRetry(subscription, { sequence, attempts: 0, nextAttemptMs: now, lastError: null, firstFailedMs: null, lastFailedMs: null, redeliver: true });
        }
      });
      running.get(subscription)?.redeliver(sequences, now);
      return sequences.length;
    },

    async discardDeadLetters(subscription, eventId) {
      subscriptionRow(subscription);
      const sequences = store.deadSequences(subscription, eventId);
      store.transaction(() => {
        for (const sequence of sequences) store.deleteDeadLetter(subscription, sequence);
      });
      return sequences.length;
    },

    stats: () => writer.stats(),

    close() {
      closing ??= (async () => {
        closed = true;
        await running.closeAll();
        writer.close();
        await checkpointer?.close();
        db.close();
        claim.release();
      })();
      return closing;
    },
  };
}
