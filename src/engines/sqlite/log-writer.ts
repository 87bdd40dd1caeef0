import { createRequire } from 'node:module';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { contentDigest, EngineClosedError, IdentityConflictError, type PublishResult } from '../../bus/kit/index.ts';
import type { UnstoredEvent } from '../../contracts/index.ts';
import { FIELDS, WORKER_SOURCE, type CommitReport, type CommitRequest, type LogRequest, type LogWorkerData, type ReadyReport, type WireError } from './log-worker.ts';
import type { StateWrite } from './state-store.ts';

/** Subscription state that is written with the writer's next transaction (acks, retries, dead letters). */
export interface StatePersister {
  /** Takes what changed since the last take, as rows to write; undefined when nothing did. */
  takeState(): StateWrite | undefined;
  /** The write of `taken` failed: what has not changed since is pending again. */
  restoreState(taken: StateWrite): void;
}

export interface LogWriterOptions {
  /** The log file; the caller has claimed it and laid it out (schema.ts). */
  readonly file: string;
  /** How long state changes may wait for a transaction when no append comes (ms). */
  readonly stateFlushMs: number;
  /** The writer's `wal_autocheckpoint` (pages). */
  readonly autocheckpointPages: number;
  /** Called after every commit that stored events, with the new head. */
  readonly onAppended: (head: number) => void;
}

export interface LogWriterStats {
  /** Write transactions committed. */
  readonly transactions: number;
  /** Append calls (batches) committed. */
  readonly batches: number;
  /** Events stored (duplicates not counted). */
  readonly events: number;
}

/** The log's worker thread did not start, or stopped: nothing can be written. */
export class LogWorkerError extends Error {
  override readonly name = 'LogWorkerError';
}

/** Events queued in one turn of the event loop that are sent before the turn ends when the worker is idle. */
const EARLY_SEND_EVENTS = 32;
/** Longest wait for the worker to open the log at start-up (ms). */
const START_TIMEOUT_MS = 30_000;

interface PendingBatch {
  readonly events: readonly UnstoredEvent[];
  /** `FIELDS` values per event, as the worker inserts them. */
  readonly fields: (string | null)[];
  readonly resolve: (results: PublishResult[]) => void;
  readonly reject: (error: unknown) => void;
}

interface PendingWrite {
  readonly write: StateWrite;
  /** Background state: given back to it when the write fails. */
  readonly persister?: StatePersister;
  readonly resolve?: () => void;
  readonly reject?: (error: unknown) => void;
}

interface InFlight {
  readonly batches: readonly PendingBatch[];
  readonly writes: readonly PendingWrite[];
  readonly answered: () => void;
}

function rebuild(wire: WireError): Error {
  if (wire.conflicts) return new IdentityConflictError(wire.conflicts);
  const error = new Error(wire.message) as Error & { code?: string };
  if (wire.name) error.name = wire.name;
  if (wire.code !== undefined) error.code = wire.code;
  return error;
}

/**
 * The log's writer, seen from the main thread: appends and subscription state are sent to a worker
 * thread that owns the process's one writing connection (log-worker.ts), so commits and their fsyncs
 * never block the event loop. Group commit happens twice: appends queued during one turn of the
 * event loop go out as one request (an idle worker gets the first `EARLY_SEND_EVENTS` at once), and
 * the worker writes every request that arrived while its last commit ran in ONE transaction. A promise resolves after its transaction is on disk; each append
 * call is all-or-nothing (a savepoint), so a failing batch leaves its neighbours alone. Pending
 * subscription state rides along with appends, or goes on its own after `stateFlushMs`; at most one
 * request carrying it is out at a time, so a write that failed can be given back unambiguously.
 * `head` moves only when a commit is reported, so readers never see past what is on disk.
 */
export class LogWriter {
  private queue: PendingBatch[] = [];
  /** Events in `queue`. */
  private queued = 0;
  private writes: PendingWrite[] = [];
  private readonly dirty = new Set<StatePersister>();
  /** When the oldest unwritten state change was made (ms), while there is one. */
  private dirtySince: number | undefined;
  private sendScheduled = false;
  private stateTimer: NodeJS.Timeout | undefined;
  /** The request carrying background state, until it is answered. */
  private stateRequest: Promise<void> | undefined;
  private lastRequest: Promise<void> = Promise.resolve();
  private readonly inFlight = new Map<number, InFlight>();
  private nextId = 0;
  private closed = false;
  private closing: Promise<void> | undefined;
  /** The worker was told to close: nothing more can be sent. */
  private stopped = false;
  private failure: Error | undefined;
  private headSequence: number;
  private readonly counters = { transactions: 0, batches: 0, events: 0 };
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly exited: Promise<void>;

  /** Starts the worker and waits (blocking, start-up only) until it has opened the log; throws `LogWorkerError` if it cannot. */
  constructor(private readonly options: LogWriterOptions) {
    const { port1, port2 } = new MessageChannel();
    const signal = new SharedArrayBuffer(4);
    const workerData: LogWorkerData = {
      port: port2,
      signal,
      file: options.file,
      driver: createRequire(import.meta.url).resolve('better-sqlite3'),
      autocheckpointPages: options.autocheckpointPages,
    };
    let worker: Worker;
    try {
      // No execArgv: the worker is plain CommonJS and needs none of the process's loaders.
      worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData, transferList: [port2] });
    } catch (error) {
      port1.close();
      throw new LogWorkerError(`cannot start the worker thread that writes the log ${options.file}: ${(error as Error).message}`);
    }
    // The worker signals once its first report is posted; start-up is synchronous for the caller.
    const waited = Atomics.wait(new Int32Array(signal), 0, 0, START_TIMEOUT_MS);
    const ready = receiveMessageOnPort(port1)?.message as ReadyReport | undefined;
    if (!ready?.ready) {
      void worker.terminate();
      port1.close();
      const reason = ready ? ready.error.message : waited === 'timed-out' ? `no answer within ${START_TIMEOUT_MS} ms` : 'it stopped before opening it';
      throw new LogWorkerError(`the worker thread that writes the log ${options.file} did not start: ${reason}`);
    }
    this.worker = worker;
    this.port = port1;
    this.headSequence = ready.head;
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.unref();
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', (code) => {
      if (!this.closing) this.fail(new Error(`exited with code ${code}`));
    });
    port1.on('message', (report: CommitReport) => this.onReport(report));
    // Referenced only while a request is out, so a process with nothing else to do can exit.
    port1.unref();
  }

  /** The sequence of the last committed event. */
  get head(): number {
    return this.headSequence;
  }

  stats(): LogWriterStats {
    return { ...this.counters };
  }

  /** Queues one all-or-nothing batch for the next group commit; resolves after it is on disk. */
  append(events: readonly UnstoredEvent[]): Promise<PublishResult[]> {
    if (this.closed) return Promise.reject(new EngineClosedError('sqlite'));
    if (this.failure) return Promise.reject(this.failure);
    if (!Array.isArray(events)) return Promise.reject(new TypeError('append expects an array of events'));
    if (events.length === 0) return Promise.resolve([]);
    // Everything that can fail for one batch alone is checked before the transaction.
    const fields = new Array<string | null>(events.length * FIELDS);
    try {
      for (let i = 0; i < events.length; i++) {
        const event = events[i];
        if (typeof event?.id !== 'string' || event.id.length === 0) throw new TypeError(`event ${i}: id must be a non-empty string`);
        if (typeof event.type !== 'string' || event.type.length === 0) throw new TypeError(`event ${i}: type must be a non-empty string`);
        if (typeof event.source !== 'string' || event.source.length === 0) throw new TypeError(`event ${i}: source must be a non-empty string`);
        const o = i * FIELDS;
        fields[o] = event.id;
        fields[o + 1] = event.source;
        fields[o + 2] = event.type;
        fields[o + 3] = event.subject ?? null;
        fields[o + 4] = event.partitionkey ?? null;
        fields[o + 5] = JSON.stringify(event);
        fields[o + 6] = contentDigest(event);
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ events, fields, resolve, reject });
      this.queued += events.length;
      // An idle worker gets the first events of a long turn at once, so it commits them while the
      // rest are prepared (otherwise main-thread work and the commit take turns); a busy one takes
      // everything queued meanwhile in one transaction anyway.
      if (this.queued >= EARLY_SEND_EVENTS && this.inFlight.size === 0) void this.send();
      else this.scheduleSend();
    });
  }

  /** Writes subscription rows with the next transaction; resolves once on disk, rejects with the write's error. */
  write(writes: readonly StateWrite[]): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const done = writes.map((write) => new Promise<void>((resolve, reject) => this.writes.push({ write, resolve, reject })));
    this.scheduleSend();
    return Promise.all(done).then(() => undefined);
  }

  /** Asks for `persister.takeState()` with the next transaction (at the latest after `stateFlushMs`). */
  markDirty(persister: StatePersister): void {
    if (this.dirty.size === 0) this.dirtySince ??= Date.now();
    this.dirty.add(persister);
    this.armStateTimer();
  }

  /** Resolves once everything appended, written or marked dirty before the call is on disk (e.g. before an admin read). */
  async flush(): Promise<void> {
    // What the request out took is on disk first; the state changed since goes with the next one.
    while (this.stateRequest) await this.stateRequest;
    await this.send();
  }

  /** Refuses further appends, commits what is pending and stops the worker. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      await this.flush();
      if (this.stateTimer) clearTimeout(this.stateTimer);
      this.stateTimer = undefined;
      if (!this.failure) {
        // Referenced again while it finishes, so a process with nothing else to do waits for it.
        this.worker.ref();
        this.stopped = true;
        this.post({ kind: 'close' });
      }
      await this.exited;
      this.port.close();
    })();
    return this.closing;
  }

  /** The checkpointer worker failed: the writer checkpoints itself past `pages`. */
  setAutocheckpoint(pages: number): void {
    if (!this.failure && !this.closing) this.post({ kind: 'autocheckpoint', pages });
  }

  private post(request: LogRequest): void {
    this.port.postMessage(request);
  }

  private scheduleSend(): void {
    if (this.sendScheduled) return;
    this.sendScheduled = true;
    setImmediate(() => void this.send());
  }

  private armStateTimer(): void {
    if (this.stateTimer || this.sendScheduled || this.closed || this.stateRequest || this.dirty.size === 0) return;
    const waited = Date.now() - (this.dirtySince ?? Date.now());
    this.stateTimer = setTimeout(() => {
      this.stateTimer = undefined;
      void this.send();
    }, Math.max(0, this.options.stateFlushMs - waited));
    this.stateTimer.unref();
  }

  /** Sends what is pending as one request; resolves once the last request out is answered. */
  private send(): Promise<void> {
    this.sendScheduled = false;
    if (this.stateTimer) {
      clearTimeout(this.stateTimer);
      this.stateTimer = undefined;
    }
    const batches = this.queue;
    const writes = this.writes;
    this.queue = [];
    this.queued = 0;
    this.writes = [];
    let carriesState = false;
    if (!this.stateRequest && this.dirty.size > 0) {
      for (const persister of this.dirty) {
        const write = persister.takeState();
        if (!write) continue;
        writes.push({ write, persister });
        carriesState = true;
      }
      this.dirty.clear();
      this.dirtySince = undefined;
    }
    if (batches.length === 0 && writes.length === 0) return this.lastRequest;
    if (this.failure || this.stopped) {
      this.settle({ batches, writes, answered: () => undefined }, undefined, this.failure ?? new EngineClosedError('sqlite'));
      return this.lastRequest;
    }
    const id = this.nextId++;
    const answered = new Promise<void>((resolve) => this.inFlight.set(id, { batches, writes, answered: resolve }));
    if (carriesState) this.stateRequest = answered;
    this.lastRequest = answered;
    if (this.inFlight.size === 1) this.port.ref();
    const request: CommitRequest = { kind: 'commit', id, batches: batches.map((b) => b.fields), writes: writes.map((w) => w.write) };
    this.post(request);
    return answered;
  }

  private onReport(report: CommitReport): void {
    this.counters.transactions += report.transactions;
    const answered: [InFlight, CommitReport['replies'][number]][] = [];
    for (const reply of report.replies) {
      const request = this.inFlight.get(reply.id);
      if (!request) continue;
      this.inFlight.delete(reply.id);
      answered.push([request, reply]);
    }
    if (this.inFlight.size === 0) this.port.unref();
    if (report.head > this.headSequence) {
      this.headSequence = report.head;
      this.options.onAppended(report.head);
    }
    for (const [request, reply] of answered) this.settle(request, reply);
  }

  /** Resolves or rejects what a request carried: by its reply, or all with `failure`. */
  private settle(request: InFlight, reply: CommitReport['replies'][number] | undefined, failure?: Error): void {
    let batches = 0;
    let stored = 0;
    request.batches.forEach((batch, i) => {
      const result = reply?.results[i];
      if (!result || !Array.isArray(result)) {
        batch.reject(result && 'error' in result ? rebuild(result.error) : failure);
        return;
      }
      batches++;
      const results = new Array<PublishResult>(result.length);
      for (let k = 0; k < result.length; k++) {
        const sequence = result[k];
        if (sequence > 0) stored++;
        results[k] = { id: batch.events[k].id, sequence: Math.abs(sequence), duplicate: sequence < 0 };
      }
      batch.resolve(results);
    });
    this.counters.batches += batches;
    this.counters.events += stored;
    let stateTaken = false;
    request.writes.forEach((pending, i) => {
      const wireError = reply ? reply.writes[i] : undefined;
      const error = wireError ? rebuild(wireError) : reply ? undefined : failure;
      if (pending.persister) {
        stateTaken = true;
        if (error && !this.failure && !this.stopped) {
          // Written again with a later transaction.
          pending.persister.restoreState(pending.write);
          this.markDirty(pending.persister);
        }
      } else if (error) pending.reject?.(error);
      else pending.resolve?.();
    });
    request.answered();
    if (stateTaken) {
      this.stateRequest = undefined;
      this.armStateTimer();
    }
  }

  /** The worker stopped: everything out or pending fails, and so does everything after. */
  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = new LogWorkerError(`the worker thread that writes the log ${this.options.file} stopped: ${error.message}`);
    const pending = [...this.inFlight.values()];
    this.inFlight.clear();
    this.port.unref();
    for (const request of pending) this.settle(request, undefined, this.failure);
    void this.send();
  }
}
