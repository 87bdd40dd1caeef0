import type { NatsConnection } from '@nats-io/transport-node';
import type { CloudEvent } from '../../contracts/index.ts';
import { backoffDelay } from '../../bus/backoff.ts';
import { matchesTypes } from '../../bus/match.ts';
import type { ResolvedSubscriptionOptions } from '../../bus/options.ts';
import type { DeadLetter, Deliver, Outcome, Subscription } from '../../bus/types.ts';
import type { DeadLetterStore } from './dead-letters.ts';
import type { Delivery } from './delivery.ts';
import { toCloudEvent } from './event-codec.ts';
import { typeOfSubject, type Naming } from './naming.ts';
import { createPullLane, type PullLane } from './pull-lane.ts';

export interface RunnerContext {
  readonly nc: NatsConnection;
  readonly naming: Naming;
  readonly store: DeadLetterStore;
  readonly ackWaitMs: number;
  readonly pullExpiresMs: number;
  readonly onError: (error: Error) => void;
}

/** Where a subscription's consumers are: event-stream consumers, and the redelivery queue on the dead-letter stream. */
export interface RunnerConsumers {
  readonly events: readonly string[];
  readonly redrive: string;
}

interface LaneState {
  readonly lane: PullLane;
  /** Key ordering: one event (batch) of this lane at a time. */
  readonly ordered: boolean;
  readonly redrive: boolean;
  /** Delivered, not yet due (delayed subscription), in delivery order. */
  readonly waiting: Delivery[];
  readonly ready: Delivery[];
  running: number;
  dueTimer?: NodeJS.Timeout;
  flushTimer?: NodeJS.Timeout;
}

/** A counting semaphore: handler calls at once in this consumer. */
function slots(size: number): { acquire(): Promise<void>; release(): void } {
  let free = size;
  const waiters: (() => void)[] = [];
  return {
    acquire: () => {
      if (free > 0) {
        free -= 1;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => waiters.push(resolve));
    },
    release: () => {
      const next = waiters.shift();
      if (next) next();
      else free += 1;
    },
  };
}

/**
 * One attached consumer of a subscription in this process: pulls from every consumer of the
 * subscription (each partition, or the single unordered one, plus the redelivery queue), waits
 * for delayed events to fall due, hands events to `deliver` within `concurrency`, and turns the
 * outcomes into JetStream acks: `+ACK`, `-NAK` with the backoff delay, or a dead letter then `+TERM`.
 *
 * Held messages get `+WPI` (in progress) every third of the ack wait, so a slow handler or a long
 * delay never lets the server hand the same event to another process meanwhile.
 */
export function startSubscription(ctx: RunnerContext, options: ResolvedSubscriptionOptions, consumers: RunnerConsumers, deliver: Deliver, mode: 'single' | 'batch'): Subscription {
  const { naming, store } = ctx;
  const batchSize = mode === 'batch' ? options.maxBatchSize : 1;
  const semaphore = slots(options.concurrency);
  const held = new Set<Delivery>();
  const running = new Set<Promise<void>>();
  let closed = false;

  const heartbeat = setInterval(() => {
    for (const delivery of held) delivery.working();
  }, Math.max(1_000, Math.floor(ctx.ackWaitMs / 3)));
  heartbeat.unref();

  const makeLane = (consumer: string, stream: string, ordered: boolean, redrive: boolean, capacity: number): LaneState => {
    const state: LaneState = {
      ordered,
      redrive,
      waiting: [],
      ready: [],
      running: 0,
      lane: createPullLane({
        nc: ctx.nc,
        stream,
        consumer,
        capacity,
        expiresMs: ctx.pullExpiresMs,
        onDelivery: (delivery) => arrive(state, delivery),
        onError: ctx.onError,
      }),
    };
    return state;
  };

  const ordered = options.ordering === 'key';
  const laneCapacity = ordered ? batchSize : options.concurrency * batchSize;
  const lanes = [
    ...consumers.events.map((consumer) => makeLane(consumer, naming.stream, ordered, false, laneCapacity)),
    makeLane(consumers.redrive, naming.dlqStream, false, true, options.concurrency * batchSize),
  ];

  function arrive(state: LaneState, delivery: Delivery): void {
    held.add(delivery);
    state.waiting.push(delivery);
    promoteDue(state);
  }

  function promoteDue(state: LaneState): void {
    clearTimeout(state.dueTimer);
    const now = Date.now();
    while (state.waiting.length > 0) {
      const due = state.redrive ? 0 : state.waiting[0].storedAtMs + options.delayMs;
      if (due > now) {
        state.dueTimer = setTimeout(() => promoteDue(state), due - now);
        break;
      }
      state.ready.push(state.waiting.shift() as Delivery);
    }
    schedule(state);
  }

  function schedule(state: LaneState): void {
    if (closed) return;
    while (state.ready.length > 0 && !(state.ordered && state.running > 0)) {
      if (mode === 'batch' && state.ready.length < batchSize) {
        // Wait `maxWaitMs` for more once one is ready; with 0, whatever arrived in this turn.
        state.flushTimer ??= setTimeout(() => {
          state.flushTimer = undefined;
          flush(state);
        }, options.maxWaitMs);
        return;
      }
      run(state, state.ready.splice(0, batchSize));
    }
  }

  function flush(state: LaneState): void {
    if (closed || state.ready.length === 0 || (state.ordered && state.running > 0)) return;
    run(state, state.ready.splice(0, batchSize));
    schedule(state);
  }

  function run(state: LaneState, batch: Delivery[]): void {
    clearTimeout(state.flushTimer);
    state.flushTimer = undefined;
    state.running += 1;
    const task: Promise<void> = (async () => {
      await semaphore.acquire();
      try {
        await handle(state, batch);
      } catch (error) {
        ctx.onError(error as Error);
      } finally {
        semaphore.release();
        state.running -= 1;
        schedule(state);
      }
    })();
    running.add(task);
    void task.then(() => running.delete(task));
  }

  function done(state: LaneState, delivery: Delivery): void {
    if (held.delete(delivery)) state.lane.release(1);
  }

  async function handle(state: LaneState, batch: Delivery[]): Promise<void> {
    const work: { delivery: Delivery; event: CloudEvent }[] = [];
    for (const delivery of batch) {
      const event = decode(state, delivery);
      if (!event) {
        await deadLetter(state, delivery, unreadableEvent(delivery), 'unreadable message: not a JSON CloudEvent', delivery.deliveryCount);
      } else if (!state.redrive && !matchesTypes(options.types, event.type)) {
        // Only on servers without multiple filter subjects, where a consumer sees its whole partition.
        delivery.ack();
        done(state, delivery);
      } else if (delivery.deliveryCount > options.retry.maxAttempts) {
        await deadLetter(state, delivery, event, `gave up after ${delivery.deliveryCount - 1} deliveries: the last attempt never finished (process stopped or lost its connection)`, delivery.deliveryCount - 1);
      } else {
        work.push({ delivery, event });
      }
    }
    if (work.length === 0) return;
    const attempt = Math.max(...work.map(({ delivery }) => delivery.deliveryCount));
    let outcomes: readonly Outcome[];
    try {
      outcomes = await deliver(
        work.map(({ event }) => event),
        { subscription: options.name, attempt },
      );
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      outcomes = work.map(() => ({ kind: 'retry', error: message }));
    }
    await Promise.all(work.map(({ delivery, event }, index) => settle(state, delivery, event, outcomes[index] ?? { kind: 'retry', error: 'no outcome for this event' })));
  }

  async function settle(state: LaneState, delivery: Delivery, event: CloudEvent, outcome: Outcome): Promise<void> {
    const attempt = delivery.deliveryCount;
    if (outcome.kind === 'ack') {
      delivery.ack();
      done(state, delivery);
      if (state.redrive) await store.removeRedrive(delivery.streamSequence).catch(ctx.onError);
      if (attempt > 1 || state.redrive) await store.clearFailure(options.name, event.id).catch(ctx.onError);
      return;
    }
    if (outcome.kind === 'dead' || attempt >= options.retry.maxAttempts) {
      await deadLetter(state, delivery, event, outcome.error, attempt);
      return;
    }
    await store.recordFailure(options.name, event.id, outcome.error, attempt).catch(ctx.onError);
    delivery.nak(outcome.delayMs ?? backoffDelay(options.retry, attempt));
    done(state, delivery);
  }

  async function deadLetter(state: LaneState, delivery: Delivery, event: CloudEvent, error: string, attempts: number): Promise<void> {
    try {
      await store.deadLetter(options.name, event, error, attempts);
      delivery.term();
      if (state.redrive) await store.removeRedrive(delivery.streamSequence).catch(ctx.onError);
    } catch (failure) {
      // Not recorded: let it come back and try again rather than lose it.
      ctx.onError(failure as Error);
      delivery.nak(1_000);
    }
    done(state, delivery);
  }

  function decode(state: LaneState, delivery: Delivery): CloudEvent | undefined {
    try {
      if (!state.redrive) return toCloudEvent(delivery);
      return (JSON.parse(new TextDecoder().decode(delivery.data)) as DeadLetter).event;
    } catch {
      return undefined;
    }
  }

  function unreadableEvent(delivery: Delivery): CloudEvent {
    const recorded = new Date(delivery.storedAtMs).toISOString();
    return {
      specversion: '1.0',
      id: `unreadable-${delivery.streamSequence}`,
      source: '/flamingo',
      type: typeOfSubject(naming, delivery.subject),
      time: recorded,
      datacontenttype: 'application/json',
      data: new TextDecoder().decode(delivery.data),
      sequence: delivery.streamSequence,
      recordedtime: recorded,
    };
  }

  return {
    name: options.name,
    async close() {
      if (closed) return;
      closed = true;
      for (const state of lanes) {
        clearTimeout(state.dueTimer);
        clearTimeout(state.flushTimer);
        // Not started here: straight back to the server for another consumer.
        for (const delivery of [...state.waiting.splice(0), ...state.ready.splice(0)]) {
          delivery.nak();
          done(state, delivery);
        }
      }
      await Promise.all(lanes.map((state) => state.lane.close()));
      await Promise.all([...running]);
      clearInterval(heartbeat);
    },
  };
}
