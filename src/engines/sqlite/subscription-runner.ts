import {
  backoffDelay,
  createKeyLaneDispatcher,
  errorText,
  SubscriptionConflictError,
  type Deliver,
  type KeyLaneDispatcher,
  type LaneItem,
  type Outcome,
  type ResolvedSubscriptionOptions,
  type SubscriptionInfo,
  type UnitResult,
} from '../../bus/index.ts';
import type { CloudEvent } from '../../contracts/index.ts';
import { typeFilter, type EventReader, type TypeFilter } from './event-reader.ts';
import type { LogWriter, StatePersister } from './log-writer.ts';
import { fromRanges, mergeToRanges, type Ranges } from './ranges.ts';
import { PAGE_SIZE, type SharedCursor, type SharedEvent, type SharedReader } from './shared-reader.ts';
import type { DeadLetterRow, RetryRow, StateStore, SubscriptionRow } from './state-store.ts';

/** An event of the subscription held in memory until it is done. */
interface Entry extends LaneItem {
  readonly sequence: number;
  event: CloudEvent;
  /** Deliveries started. */
  attempts: number;
  /** Deliveries that failed. */
  failures: number;
  firstFailedMs: number | undefined;
  lastError: string | undefined;
  /** A dead letter sent back for redelivery: outside the position's bookkeeping. */
  readonly extra: boolean;
  done: boolean;
}

export interface Consumer {
  readonly deliver: Deliver;
  readonly concurrency: number;
  inFlight: number;
  closing: boolean;
  drained?: () => void;
}

export interface RunnerContext {
  readonly reader: EventReader;
  readonly store: StateStore;
  readonly writer: LogWriter;
  /** The shared reader of the log for a type filter. */
  readonly readerFor: (filter: TypeFilter) => SharedReader;
  /** The runner has no consumer left and stopped. */
  readonly onStopped: (runner: SubscriptionRunner) => void;
}

/**
 * Most events between the position and the last one read: an event that keeps failing holds the
 * position, and the subscription stops reading once this many events wait behind it.
 */
const MAX_WINDOW = 100_000;
const ALL_DONE: UnitResult = [];
const DONE_EVENT = Object.freeze({}) as CloudEvent;

/**
 * One subscription in this process: reads its matching events from the log into the shared
 * key-lane dispatcher, hands them to its consumers (competing consumers share one runner), applies
 * outcomes (ack, retry with backoff, dead letter) and keeps its durable state: the position below
 * which everything is done, the events done above it, retry schedule and dead letters. State is
 * written in batches by the log writer (at-least-once: a crash redelivers the last unwritten acks).
 */
export class SubscriptionRunner implements StatePersister {
  readonly name: string;
  private readonly filter: TypeFilter;
  private readonly log: SharedCursor;
  /** Most events held in the dispatcher, ready or not (keys held back by a retry, delays). */
  private readonly bufferSize: number;
  /**
   * Events kept ready to hand out: reading stops once this many are ready. Small, so that parsed
   * events are handled and dropped young instead of waiting long enough to be promoted by the GC.
   */
  private readonly readAhead: number;
  private consumers: Consumer[] = [];
  private nextConsumer = 0;
  private dispatcher: KeyLaneDispatcher<Entry>;
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
  private generation = 0;
  private stopped = false;
  private rewinding: Promise<void> = Promise.resolve();
  private paused = false;
  private fetching = false;
  private fetchQueued = false;
  private inFlightEvents = 0;
  private retrying = 0;
  private stateDirty = false;
  private retryOps = new Map<number, RetryRow | null>();
  private deadOps = new Map<number, DeadLetterRow>();

  constructor(
    private readonly context: RunnerContext,
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
    this.dispatcher = this.createDispatcher();
  }

  /** Rejects a second consumer whose options contradict the running subscription. */
  checkCompatible(options: ResolvedSubscriptionOptions): void {
    const differs: string[] = [];
    if (options.mode !== this.options.mode) differs.push(`mode (${options.mode} vs ${this.options.mode})`);
    if (options.types.join() !== this.options.types.join()) differs.push(`types (${options.types.join(', ')} vs ${this.options.types.join(', ')})`);
    if (options.ordering !== this.options.ordering) differs.push('ordering');
    if (options.delayMs !== this.options.delayMs) differs.push('delayMs');
    if (options.maxBatchSize !== this.options.maxBatchSize) differs.push('maxBatchSize');
    if (differs.length > 0) throw new SubscriptionConflictError(`subscription "${this.name}" is running with other ${differs.join(', ')}`);
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

  attach(deliver: Deliver, concurrency: number): Consumer {
    const consumer: Consumer = { deliver, concurrency, inFlight: 0, closing: false };
    this.consumers.push(consumer);
    this.dispatcher.setConcurrency(this.capacity());
    return consumer;
  }

  /** Stops handing events to `consumer`, waits for its running handlers, and stops the runner when it was the last. */
  async detach(consumer: Consumer): Promise<void> {
    if (consumer.closing) return;
    consumer.closing = true;
    this.dispatcher.setConcurrency(this.capacity());
    if (consumer.inFlight > 0) await new Promise<void>((resolve) => (consumer.drained = resolve));
    this.consumers = this.consumers.filter((c) => c !== consumer);
    if (this.consumers.length === 0 && !this.stopped) this.stop();
  }

  /** Detaches every consumer (engine close). */
  async detachAll(): Promise<void> {
    await Promise.all(this.consumers.map((consumer) => this.detach(consumer)));
  }

  private stop(): void {
    this.stopped = true;
    this.generation++;
    this.dispatcher.close();
    this.log.close();
    // Written now, so a runner started next for this name reads the current state.
    this.stateDirty = true;
    this.context.writer.markDirty(this);
    this.context.writer.flush();
    this.context.onStopped(this);
  }

  private capacity(): number {
    let total = 0;
    for (const consumer of this.consumers) if (!consumer.closing) total += consumer.concurrency;
    return total;
  }

  private createDispatcher(): KeyLaneDispatcher<Entry> {
    return createKeyLaneDispatcher<Entry>({
      ordering: this.options.ordering,
      concurrency: this.capacity(),
      maxBatchSize: this.options.maxBatchSize,
      maxWaitMs: this.options.maxWaitMs,
      run: (items) => this.run(items),
    });
  }

  /** New events were committed up to `head`. */
  onAppended(): void {
    this.fetch();
  }

  private fetch(): void {
    if (this.stopped || this.paused || this.fetching) return;
    this.fetching = true;
    try {
      const head = this.context.writer.head;
      const dispatcher = this.dispatcher;
      while (
        this.scanned < head &&
        dispatcher.size < this.bufferSize &&
        dispatcher.ready < this.readAhead &&
        this.order.length - this.orderHead < MAX_WINDOW
      ) {
        const wanted = Math.min(PAGE_SIZE, this.bufferSize - dispatcher.size, this.readAhead - dispatcher.ready);
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
          dispatcher.push(entry);
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
    const attempts = restored?.attempts ?? 0;
    return {
      sequence: shared.sequence,
      event: shared.event,
      key: shared.event.partitionkey,
      readyAt: restored ? Math.max(delayed, restored.nextAttemptMs) : delayed,
      attempts,
      failures: attempts,
      firstFailedMs: restored?.firstFailedMs ?? undefined,
      lastError: restored?.lastError ?? undefined,
      extra,
      done: false,
    };
  }

  private pushRedelivery(sequence: number, retry: RetryRow): void {
    const event = this.context.reader.at(sequence);
    if (!event) {
      this.retryOps.set(sequence, null);
      return;
    }
    const entry = this.entryOf({ sequence, recordedMs: Date.parse(event.recordedtime), event }, true, retry);
    if (entry.failures > 0) this.retrying++;
    this.dispatcher.push(entry);
  }

  /** Dead letters sent back (their rows are already in `retries`): deliver them as fresh first attempts. */
  redeliver(sequences: readonly number[], nowMs: number): void {
    if (this.stopped || this.paused) return;
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

  private pickConsumer(): Consumer | undefined {
    const consumers = this.consumers;
    for (let i = 0; i < consumers.length; i++) {
      const consumer = consumers[(this.nextConsumer + i) % consumers.length];
      if (!consumer.closing && consumer.inFlight < consumer.concurrency) {
        this.nextConsumer = (this.nextConsumer + i + 1) % consumers.length;
        return consumer;
      }
    }
    return undefined;
  }

  private async run(items: Entry[]): Promise<UnitResult> {
    const generation = this.generation;
    const consumer = this.pickConsumer();
    // Cannot happen while the dispatcher's concurrency is the consumers' capacity; if it did, try again shortly.
    if (!consumer) return items.map(() => Date.now() + 10);
    consumer.inFlight++;
    this.inFlightEvents += items.length;
    let attempt = 0;
    const events: CloudEvent[] = new Array<CloudEvent>(items.length);
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      item.attempts++;
      if (item.attempts > attempt) attempt = item.attempts;
      events[i] = item.event;
    }
    let outcomes: readonly Outcome[];
    let failure = 'the engine got no outcome for this event';
    try {
      outcomes = await consumer.deliver(events, { subscription: this.name, attempt });
    } catch (error) {
      outcomes = [];
      failure = errorText(error);
    } finally {
      consumer.inFlight--;
      this.inFlightEvents -= items.length;
      if (consumer.inFlight === 0 && consumer.drained) consumer.drained();
    }
    if (generation !== this.generation) return ALL_DONE;
    // One instant and one backoff for the whole unit, so the events of a failed batch come back together.
    const now = Date.now();
    let backoff: number | undefined;
    const results = new Array<number | undefined>(items.length);
    for (let i = 0; i < items.length; i++) {
      const outcome = outcomes[i] ?? { kind: 'retry', error: failure };
      if (outcome.kind === 'retry' && outcome.delayMs === undefined) backoff ??= now + backoffDelay(this.options.retry, attempt);
      results[i] = this.settle(items[i], outcome, now, backoff ?? now);
    }
    if (this.dispatcher.ready < this.readAhead / 2 && this.scanned < this.context.writer.head) this.scheduleFetch();
    return results;
  }

  /** Applies one outcome; returns when to deliver again (`backoff` unless the handler said), or undefined when the event is done. */
  private settle(entry: Entry, outcome: Outcome, now: number, backoff: number): number | undefined {
    if (outcome.kind === 'ack') {
      this.finish(entry);
      return undefined;
    }
    if (entry.failures++ === 0) this.retrying++;
    entry.firstFailedMs ??= now;
    entry.lastError = outcome.error;
    if (outcome.kind === 'dead' || entry.attempts >= this.options.retry.maxAttempts) {
      this.finish(entry, {
        sequence: entry.sequence,
        eventId: entry.event.id,
        error: outcome.error,
        attempts: entry.attempts,
        firstFailedMs: entry.firstFailedMs,
        lastFailedMs: now,
      });
      return undefined;
    }
    const at = outcome.delayMs === undefined ? backoff : now + outcome.delayMs;
    this.retryOps.set(entry.sequence, {
      sequence: entry.sequence,
      attempts: entry.attempts,
      nextAttemptMs: at,
      lastError: outcome.error,
      firstFailedMs: entry.firstFailedMs,
      lastFailedMs: now,
      redeliver: entry.extra,
    });
    this.context.writer.markDirty(this);
    return at;
  }

  private finish(entry: Entry, dead?: DeadLetterRow): void {
    entry.done = true;
    // Done entries wait in `order` until the position passes them; their events are not needed any more.
    entry.event = DONE_EVENT;
    if (entry.failures > 0) this.retrying--;
    if (dead) this.deadOps.set(entry.sequence, dead);
    if (entry.failures > 0 || entry.extra) this.retryOps.set(entry.sequence, null);
    if (!entry.extra) this.advance();
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

  persist(): () => void {
    const store = this.context.store;
    if (this.stateDirty) store.setPosition(this.name, this.position, this.doneRanges());
    for (const [sequence, retry] of this.retryOps) {
      if (retry) store.putRetry(this.name, retry);
      else store.deleteRetry(this.name, sequence);
    }
    for (const dead of this.deadOps.values()) store.putDeadLetter(this.name, dead);
    // Nothing runs between persist and the commit: what was written is exactly what is pending now.
    return () => {
      this.stateDirty = false;
      this.retryOps.clear();
      this.deadOps.clear();
    };
  }

  /**
   * Moves the subscription to `position` (its next event is the one after it). Pending retries are
   * dropped; dead letters sent back for redelivery stay.
   */
  rewind(position: number): Promise<void> {
    const next = this.rewinding.then(async () => {
      if (this.stopped) return;
      this.generation++;
      this.paused = true;
      const old = this.dispatcher;
      old.close();
      await old.idle();
      this.order = [];
      this.orderHead = 0;
      this.restoredDone = new Set();
      this.restoredRetries = new Map();
      this.retrying = 0;
      this.retryOps.clear();
      const store = this.context.store;
      store.transaction(() => {
        store.deleteRetries(this.name);
        store.setPosition(this.name, position, []);
      });
      this.position = this.scanned = position;
      this.stateDirty = false;
      // Stopped meanwhile (last consumer gone): the stored state is all there is.
      if (this.stopped) return;
      this.dispatcher = this.createDispatcher();
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
    return {
      name: this.name,
      types: this.options.types,
      position: this.position,
      lag: Math.max(0, this.context.reader.countAfter(this.filter, this.position) - done),
      inFlight: this.inFlightEvents,
      retrying: this.retrying,
      deadLetters: this.context.store.countDeadLetters(this.name),
      consumers: this.consumers.filter((c) => !c.closing).length,
    };
  }
}
