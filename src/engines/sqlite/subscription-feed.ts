import {
  createSubscriptionRunner,
  type DeadVerdict,
  type ResolvedSubscriptionOptions,
  type RetryVerdict,
  type RunnerItem,
  type SubscriptionInfo,
  type SubscriptionRunner,
  type SubscriptionStorage,
} from '../../bus/kit/index.ts';
import type { CloudEvent } from '../../contracts/index.ts';
import { typeFilter, type EventReader, type TypeFilter } from './event-reader.ts';
import type { LogWriter, StatePersister } from './log-writer.ts';
import { fromRanges, mergeToRanges, type Ranges } from './ranges.ts';
import { PAGE_SIZE, type SharedCursor, type SharedEvent, type SharedReader } from './shared-reader.ts';
import type { DeadLetterRow, RetryRow, StateStore, StateWrite, SubscriptionRow } from './state-store.ts';

/** An event of the subscription held in memory until it is done. */
interface Entry extends RunnerItem {
  readonly sequence: number;
  event: CloudEvent;
  /** Deliveries that failed. */
  failures: number;
  firstFailedMs: number | undefined;
  lastError: string | undefined;
  /** A dead letter sent back for redelivery: outside the position's bookkeeping. */
  readonly extra: boolean;
  done: boolean;
}

export interface FeedContext {
  readonly reader: EventReader;
  readonly store: StateStore;
  readonly writer: LogWriter;
  /** The shared reader of the log for a type filter. */
  readonly readerFor: (filter: TypeFilter) => SharedReader;
}

/**
 * Most events between the position and the last one read: an event that keeps failing holds the
 * position, and the subscription stops reading once this many events wait behind it.
 */
const MAX_WINDOW = 100_000;
const DONE_EVENT = Object.freeze({}) as CloudEvent;

/**
 * The SQLite half of one subscription running in this process (the kit's `SubscriptionRunner` is
 * the other): reads its matching events from the log into the runner and keeps its durable state —
 * the position below which everything is done, the events done above it, retry state and dead
 * letters — from the outcomes the runner settles. State is written in batches by the log writer
 * (at-least-once: a crash redelivers the last unwritten acks): `takeState` hands it the rows that
 * changed, which its worker writes with the next transaction.
 */
export class SubscriptionFeed implements StatePersister, SubscriptionStorage<Entry> {
  readonly name: string;
  readonly runner: SubscriptionRunner<Entry>;
  private readonly filter: TypeFilter;
  private readonly log: SharedCursor;
  /** Most events held in the runner, ready or not (keys held back by a retry, delays). */
  private readonly bufferSize: number;
  /**
   * Events kept ready to hand out: reading stops once this many are ready. Small, so that parsed
   * events are handled and dropped young instead of waiting long enough to be promoted by the GC.
   */
  private readonly readAhead: number;
  /** Fetched events (not extras) in sequence order; the first one not done bounds the position. */
  private order: Entry[] = [];
  private orderHead = 0;
  /** Events done above the stored position, from the last run (ascending). */
  private restoredDone: Set<number>;
  /** Retry state of events not fetched yet, from the last run. */
  private restoredRetries = new Map<number, RetryRow>();
  private position: number;
  /** Highest sequence looked at (matching or not). */
  private scanned: number;
  private rewinding: Promise<void> = Promise.resolve();
  private paused = false;
  private fetching = false;
  private fetchQueued = false;
  private retrying = 0;
  private stateDirty = false;
  private retryOps = new Map<number, RetryRow | null>();
  private deadOps = new Map<number, DeadLetterRow>();
  /** Dead letters sent back for redelivery that are held now (pushed once each). */
  private readonly extras = new Set<number>();
  /** Rewinds so far: state taken before one is not given back after it. */
  private generation = 0;
  private readonly takenIn = new WeakMap<StateWrite, number>();

  constructor(
    private readonly context: FeedContext,
    readonly options: ResolvedSubscriptionOptions,
    row: SubscriptionRow,
  ) {
    this.name = options.name;
    this.filter = typeFilter(options.types);
    this.log = context.readerFor(this.filter).cursor();
    this.bufferSize = Math.min(20_000, Math.max(2_000, 4 * options.concurrency * options.maxBatchSize));
    this.readAhead = Math.min(this.bufferSize, Math.max(64, 4 * options.concurrency * options.maxBatchSize));
    this.position = row.position;
    this.scanned = row.position;
    this.restoredDone = fromRanges(row.done);
    this.runner = createSubscriptionRunner<Entry>({ options, storage: this, onStop: () => this.stop() });
  }

  /** Starts reading: restores retry state and redeliveries of the last run. */
  start(): void {
    for (const retry of this.context.store.retries(this.name)) {
      if (retry.redeliver) this.pushRedelivery(retry.sequence, retry);
      else if (retry.sequence <= this.position || this.restoredDone.has(retry.sequence)) this.retryOps.set(retry.sequence, null);
      else this.restoredRetries.set(retry.sequence, retry);
    }
    this.retrying += [...this.restoredRetries.values()].filter((r) => r.attempts > 0).length;
    if (this.retryOps.size > 0) this.context.writer.markDirty(this);
    this.fetch();
  }

  /** The last consumer detached: written now, so a feed started next for this name reads the current state. */
  private stop(): void {
    this.log.close();
    this.stateDirty = true;
    this.context.writer.markDirty(this);
    void this.context.writer.flush();
  }

  /** New events were committed up to `head`. */
  onAppended(): void {
    this.fetch();
  }

  private fetch(): void {
    if (this.runner.stopped || this.paused || this.fetching) return;
    this.fetching = true;
    try {
      const head = this.context.writer.head;
      const runner = this.runner;
      while (
        this.scanned < head &&
        runner.held < this.bufferSize &&
        runner.ready < this.readAhead &&
        this.order.length - this.orderHead < MAX_WINDOW
      ) {
        const wanted = Math.min(PAGE_SIZE, this.bufferSize - runner.held, this.readAhead - runner.ready);
        const { events, scannedTo } = this.log.read(this.scanned, wanted);
        for (const shared of events) {
          if (this.restoredDone.size > 0 && this.restoredDone.has(shared.sequence)) continue;
          let restored: RetryRow | undefined;
          if (this.restoredRetries.size > 0) {
            restored = this.restoredRetries.get(shared.sequence);
            if (restored) this.restoredRetries.delete(shared.sequence);
          }
          const entry = this.entryOf(shared, false, restored);
          this.order.push(entry);
          runner.push(entry);
        }
        this.scanned = scannedTo;
      }
    } finally {
      this.fetching = false;
    }
    this.advance();
  }

  private scheduleFetch(): void {
    if (this.fetchQueued) return;
    this.fetchQueued = true;
    queueMicrotask(() => {
      this.fetchQueued = false;
      this.fetch();
    });
  }

  private entryOf(shared: SharedEvent, extra: boolean, restored?: RetryRow): Entry {
    const delayed = this.options.delayMs > 0 ? shared.recordedMs + this.options.delayMs : 0;
    return {
      sequence: shared.sequence,
      event: shared.event,
      key: shared.event.partitionkey,
      readyAt: restored ? Math.max(delayed, restored.nextAttemptMs) : delayed,
      attempts: restored?.attempts ?? 0,
      failures: restored?.attempts ?? 0,
      firstFailedMs: restored?.firstFailedMs ?? undefined,
      lastError: restored?.lastError ?? undefined,
      extra,
      done: false,
    };
  }

  private pushRedelivery(sequence: number, retry: RetryRow): void {
    if (this.extras.has(sequence)) return;
    const event = this.context.reader.at(sequence);
    if (!event) {
      this.retryOps.set(sequence, null);
      return;
    }
    const entry = this.entryOf({ sequence, recordedMs: Date.parse(event.recordedtime), event }, true, retry);
    if (entry.failures > 0) this.retrying++;
    this.extras.add(sequence);
    this.runner.push(entry);
  }

  /** Dead letters sent back (their rows are already in `retries`): deliver them as fresh first attempts. */
  redeliver(sequences: readonly number[], nowMs: number): void {
    if (this.runner.stopped || this.paused) return;
    for (const sequence of sequences) {
      this.pushRedelivery(sequence, { sequence, attempts: 0, nextAttemptMs: nowMs, lastError: null, firstFailedMs: null, lastFailedMs: null, redeliver: true });
    }
  }

  private advance(): void {
    const order = this.order;
    let head = this.orderHead;
    while (head < order.length && order[head].done) head++;
    if (head === order.length) {
      order.length = 0;
      head = 0;
    } else if (head > 256 && head * 2 > order.length) {
      this.order = order.slice(head);
      head = 0;
    }
    this.orderHead = head;
    const position = head < this.order.length ? this.order[head].sequence - 1 : this.scanned;
    if (position > this.position) this.position = position;
  }

  // ── SubscriptionStorage: the runner's outcomes, kept for the next write ──────────────────────

  ack(entry: Entry): void {
    this.finish(entry);
  }

  retry(entry: Entry, verdict: RetryVerdict): number {
    this.failed(entry, verdict);
    this.retryOps.set(entry.sequence, {
      sequence: entry.sequence,
      attempts: verdict.attempts,
      nextAttemptMs: verdict.at,
      lastError: verdict.error,
      firstFailedMs: entry.firstFailedMs ?? verdict.failedAt,
      lastFailedMs: verdict.failedAt,
      redeliver: entry.extra,
    });
    this.context.writer.markDirty(this);
    return verdict.at;
  }

  dead(entry: Entry, verdict: DeadVerdict): void {
    this.failed(entry, verdict);
    this.finish(entry, {
      sequence: entry.sequence,
      eventId: entry.event.id,
      error: verdict.error,
      attempts: verdict.attempts,
      firstFailedMs: entry.firstFailedMs ?? verdict.failedAt,
      lastFailedMs: verdict.failedAt,
    });
  }

  unitDone(): void {
    if (this.runner.ready < this.readAhead / 2 && this.scanned < this.context.writer.head) this.scheduleFetch();
  }

  private failed(entry: Entry, verdict: RetryVerdict | DeadVerdict): void {
    if (entry.failures++ === 0) this.retrying++;
    entry.firstFailedMs ??= verdict.failedAt;
    entry.lastError = verdict.error;
  }

  private finish(entry: Entry, dead?: DeadLetterRow): void {
    entry.done = true;
    // Done entries wait in `order` until the position passes them; their events are not needed any more.
    entry.event = DONE_EVENT;
    if (entry.failures > 0) this.retrying--;
    if (dead) this.deadOps.set(entry.sequence, dead);
    if (entry.failures > 0 || entry.extra) this.retryOps.set(entry.sequence, null);
    if (entry.extra) this.extras.delete(entry.sequence);
    else this.advance();
    this.stateDirty = true;
    this.context.writer.markDirty(this);
  }

  /** Sequences done above the position, as stored ranges. */
  private doneRanges(): Ranges {
    const restored: number[] = [];
    for (const sequence of this.restoredDone) {
      if (sequence > this.position) restored.push(sequence);
      else this.restoredDone.delete(sequence);
    }
    const fetched: number[] = [];
    for (let i = this.orderHead; i < this.order.length; i++) if (this.order[i].done) fetched.push(this.order[i].sequence);
    return mergeToRanges(restored, fetched);
  }

  takeState(): StateWrite | undefined {
    if (!this.stateDirty && this.retryOps.size === 0 && this.deadOps.size === 0) return undefined;
    const putRetries: RetryRow[] = [];
    const deleteRetries: number[] = [];
    for (const [sequence, retry] of this.retryOps) {
      if (retry) putRetries.push(retry);
      else deleteRetries.push(sequence);
    }
    const write: StateWrite = {
      subscription: this.name,
      ...(this.stateDirty ? { position: { position: this.position, done: this.doneRanges() } } : {}),
      ...(deleteRetries.length > 0 ? { deleteRetries } : {}),
      ...(putRetries.length > 0 ? { putRetries } : {}),
      ...(this.deadOps.size > 0 ? { putDeadLetters: [...this.deadOps.values()] } : {}),
    };
    this.stateDirty = false;
    this.retryOps = new Map();
    this.deadOps = new Map();
    this.takenIn.set(write, this.generation);
    return write;
  }

  restoreState(taken: StateWrite): void {
    // A rewind since replaced the position and the retry schedule: only its dead letters still count.
    const current = this.takenIn.get(taken) === this.generation;
    if (current) {
      if (taken.position) this.stateDirty = true;
      // What changed since the take is newer: it stays.
      for (const sequence of taken.deleteRetries ?? []) if (!this.retryOps.has(sequence)) this.retryOps.set(sequence, null);
      for (const retry of taken.putRetries ?? []) if (!this.retryOps.has(retry.sequence)) this.retryOps.set(retry.sequence, retry);
    }
    for (const dead of taken.putDeadLetters ?? []) if (!this.deadOps.has(dead.sequence)) this.deadOps.set(dead.sequence, dead);
  }

  /**
   * Moves the subscription to `position` (its next event is the one after it). Pending retries are
   * dropped; dead letters sent back for redelivery stay.
   */
  rewind(position: number): Promise<void> {
    const next = this.rewinding.then(async () => {
      if (this.runner.stopped) return;
      this.paused = true;
      // Units still running settle first; their outcomes are then replaced with the rest.
      await this.runner.pause();
      this.order = [];
      this.orderHead = 0;
      this.restoredDone = new Set();
      this.restoredRetries = new Map();
      this.retrying = 0;
      this.retryOps.clear();
      this.extras.clear();
      this.generation++;
      this.position = this.scanned = position;
      this.stateDirty = false;
      await this.context.writer.write([{ subscription: this.name, dropRetries: true, position: { position, done: [] } }]);
      const store = this.context.store;
      // Stopped meanwhile (last consumer gone): the stored state is all there is.
      if (this.runner.stopped) return;
      this.runner.resume();
      this.paused = false;
      for (const retry of store.retries(this.name)) if (retry.redeliver) this.pushRedelivery(retry.sequence, retry);
      this.fetch();
    });
    this.rewinding = next.catch(() => undefined);
    return next;
  }

  info(): SubscriptionInfo {
    let done = 0;
    for (const [first, last] of this.doneRanges()) done += last - first + 1;
    const notDone = Math.max(0, this.context.reader.countAfter(this.filter, this.position) - done);
    // Recorded less than the delay ago: none of them can be done yet.
    const delayMs = this.options.delayMs;
    const scheduled =
      delayMs > 0 ? Math.min(notDone, this.context.reader.countAfter(this.filter, Math.max(this.position, this.context.reader.positionBefore(new Date(Date.now() - delayMs))))) : 0;
    return {
      name: this.name,
      types: this.options.types,
      position: this.position,
      lag: notDone - scheduled,
      inFlight: this.runner.inFlight,
      retrying: this.retrying,
      deadLetters: this.context.store.countDeadLetters(this.name),
      scheduled,
      consumers: this.runner.consumers,
    };
  }
}
