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
  /**
   * The log file (created with its directory when missing). One process owns a log file at a time.
   * Not `:memory:`: the log is written from a worker thread with a connection of its own.
   */
  readonly file: string;
  /**
   * Longest time acknowledgements and retry state wait to be written when no append carries them
   * (ms). A crash redelivers at most the events acknowledged in this window and in the commit under
   * way. (Default: 50)
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

/**
 * Checkpoints from a worker thread; on any trouble the writer goes back to checkpointing itself.
 * Returns the writer's `wal_autocheckpoint` to start with, and the checkpointer if it runs.
 */
function startBackgroundCheckpoints(file: string, fallBack: () => void): { checkpointer?: Checkpointer; autocheckpointPages: number } {
  try {
    return { checkpointer: startCheckpointer(path.resolve(file), CHECKPOINT_INTERVAL_MS, fallBack), autocheckpointPages: WORKER_AUTOCHECKPOINT_PAGES };
  } catch {
    return { autocheckpointPages: AUTOCHECKPOINT_PAGES };
  }
}

/** The embedded engine, with what only it can tell. */
export interface SqliteEngine extends Engine {
  /** Write transactions and what they carried since the engine opened (group commit at work). */
  stats(): LogWriterStats;
}

/**
 * The embedded default engine: one SQLite file (WAL, `synchronous = FULL`) holding the log and the
 * subscriptions' state. Appends and state are group-committed by a worker thread that holds the
 * file's one writing connection (log-writer.ts), so no commit or fsync runs on the event loop; this
 * thread reads (WAL readers never wait for the writer), up to the head the worker reports after each
 * commit. Subscriptions in this process are pushed new events as soon as they are committed.
 */
export function sqliteEngine(options: SqliteEngineOptions): SqliteEngine {
  const stateFlushMs = options.stateFlushMs ?? 50;
  if (!Number.isInteger(stateFlushMs) || stateFlushMs < 0) throw new InvalidOptionsError(`stateFlushMs must be an integer >= 0, got ${stateFlushMs}`);
  // The writer is a worker thread with a connection of its own: an in-memory database would be its alone.
  if (options.file === ':memory:') throw new InvalidOptionsError('file must be a file (the log is written from a worker thread), got :memory:');
  const claim = claimLog(options.file);
  let db: Database.Database | undefined;
  let reader: EventReader;
  let store: StateStore;
  let writer: LogWriter;
  let checkpointer: Checkpointer | undefined;
  const running = runningSubscriptions<SubscriptionFeed>();
  try {
    // Lays the file out (migrations) before the writer opens it; afterwards this connection only reads.
    db = openLogDatabase(options.file);
    db.pragma('query_only = ON');
    reader = new EventReader(db, () => writer.head);
    store = new StateStore(db);
    const background = startBackgroundCheckpoints(options.file, () => writer?.setAutocheckpoint(AUTOCHECKPOINT_PAGES));
    checkpointer = background.checkpointer;
    writer = new LogWriter({
      file: path.resolve(options.file),
      stateFlushMs,
      autocheckpointPages: background.autocheckpointPages,
      onAppended: () => {
        for (const feed of running.all()) feed.onAppended();
      },
    });
  } catch (error) {
    void checkpointer?.close();
    db?.close();
    claim.release();
    throw error;
  }
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
  const subscriptionRow = async (name: string): Promise<SubscriptionRow> => {
    assertOpen();
    await writer.flush();
    const row = store.get(name);
    if (!row) throw new UnknownSubscriptionError(name);
    return row;
  };

  /** The subscription's feed in this process, creating its row at `startAt` when new. */
  const start = async (options: ResolvedSubscriptionOptions): Promise<SubscriptionFeed> => {
    assertOpen();
    await writer.flush();
    let row = store.get(options.name);
    if (!row) {
      const position = positionOf(options.startAt);
      await writer.write([{ subscription: options.name, create: { types: options.types, position } }]);
      row = { name: options.name, types: options.types, position, done: [] };
    } else if (row.types.join() !== options.types.join()) {
      await writer.write([{ subscription: options.name, types: options.types }]);
    }
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
      await writer.flush();
      return store.all().map((row) => running.get(row.name)?.info() ?? storedInfo(row));
    },

    async rewind(subscription, to) {
      await subscriptionRow(subscription);
      const position = positionOf(to);
      // One starting now has read its row already: rewound as a running one.
      const feed = await running.whenRunning(subscription);
      if (feed) await feed.rewind(position);
      else await writer.write([{ subscription, dropRetries: true, position: { position, done: [] } }]);
    },

    async deadLetters(subscription, listOptions) {
      await subscriptionRow(subscription);
      const limit = Number.isFinite(listOptions?.limit) ? Math.min(1000, Math.max(1, Math.floor(listOptions?.limit as number))) : 100;
      return store.deadLetters(subscription, listOptions?.afterSequence ?? 0, limit);
    },

    async retryDeadLetters(subscription, eventId) {
      await subscriptionRow(subscription);
      const sequences = store.deadSequences(subscription, eventId);
      if (sequences.length === 0) return 0;
      const now = Date.now();
      await writer.write([
        {
          subscription,
          deleteDeadLetters: sequences,
          putRetries: sequences.map((sequence) => ({ sequence, attempts: 0, nextAttemptMs: now, lastError: null, firstFailedMs: null, lastFailedMs: null, redeliver: true })),
        },
      ]);
      // A feed that started meanwhile may have read them already: `redeliver` skips what it holds.
      (await running.whenRunning(subscription))?.redeliver(sequences, now);
      return sequences.length;
    },

    async discardDeadLetters(subscription, eventId) {
      await subscriptionRow(subscription);
      const sequences = store.deadSequences(subscription, eventId);
      if (sequences.length > 0) await writer.write([{ subscription, deleteDeadLetters: sequences }]);
      return sequences.length;
    },

    stats: () => writer.stats(),

    close() {
      closing ??= (async () => {
        closed = true;
        await running.closeAll();
        await writer.close();
        await checkpointer?.close();
        db.close();
        claim.release();
      })();
      return closing;
    },
  };
}
