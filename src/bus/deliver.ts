import { findDefinition, storedSchemaOf, validateAgainst, type CloudEvent, type EventType } from '../contracts/index.ts';
import { HeldBack, PermanentFailure, RetryAfter } from './errors.ts';
import type { BatchHandler, BatchResults, Deliver, DeliveredEvent, Handler, Outcome } from './types.ts';

const ACK: Outcome = Object.freeze({ kind: 'ack' });
/** Longest error text kept with a retry or dead letter. */
const MAX_ERROR_LENGTH = 2000;

/** A thrown value as one line of text for retry state and dead letters. */
export function errorText(error: unknown): string {
  let text: string;
  if (error instanceof Error) {
    text = error.name && error.name !== 'Error' ? `${error.name}: ${error.message}` : error.message || String(error);
    if (error.cause instanceof Error && !text.includes(error.cause.message)) text += ` (cause: ${error.cause.message})`;
  } else {
    text = typeof error === 'string' ? error : JSON.stringify(error) ?? String(error);
  }
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH - 1)}…` : text;
}

/** What a handler's throw means: `retryAfter` → retry then, `failPermanently` → dead, `HeldBack` (a batch's result) → held, anything else → retry with backoff. */
export function outcomeOf(error: unknown): Outcome {
  if (error instanceof HeldBack) return { kind: 'held', error: errorText(error) };
  if (error instanceof PermanentFailure) return { kind: 'dead', error: errorText(error) };
  if (error instanceof RetryAfter) return { kind: 'retry', error: errorText(error), delayMs: error.delayMs };
  return { kind: 'retry', error: errorText(error) };
}

/** Why an incoming event can never be handled (unknown type, data against its schema), or undefined. */
export function rejectionOf(event: CloudEvent): Outcome | undefined {
  const definition = findDefinition(event.type);
  if (!definition) return { kind: 'dead', error: `unknown event type "${event.type}"` };
  const issues = validateAgainst(storedSchemaOf(definition, event.dataschema), event.data);
  if (issues.length === 0) return undefined;
  const detail = issues
    .slice(0, 5)
    .map((issue) => `${issue.path === '/' ? '/data' : `/data${issue.path}`}: ${issue.message}`)
    .join('; ');
  return { kind: 'dead', error: errorText(`invalid data for ${event.type}: ${detail}${issues.length > 5 ? ` (and ${issues.length - 5} more)` : ''}`) };
}

const ACKED: readonly Outcome[] = Object.freeze([ACK]);
const ACKED_PROMISE: Promise<readonly Outcome[]> = Promise.resolve(ACKED);
const failed = (error: unknown): readonly Outcome[] => [outcomeOf(error)];
const acked = (): readonly Outcome[] => ACKED;

/** Wraps a typed handler into the engine's `Deliver` (one event per call). */
export function singleDeliver<T extends EventType>(handler: Handler<T>): Deliver {
  // Not async: a handler that returns without a promise costs no extra turns of the microtask queue.
  return (events, context) => {
    const event = events[0];
    const rejected = rejectionOf(event);
    if (rejected) return Promise.resolve([rejected]);
    let result: Promise<void> | void;
    try {
      result = handler(event as DeliveredEvent<T>, context);
    } catch (error) {
      return Promise.resolve(failed(error));
    }
    if (result !== undefined && typeof (result as Promise<void>).then === 'function') return (result as Promise<void>).then(acked, failed);
    return ACKED_PROMISE;
  };
}

/**
 * Wraps a typed batch handler into the engine's `Deliver`: events that fail their schema are
 * dead-lettered on their own and left out of the call; the rest share the handler's outcome, or
 * take each their own from the `BatchResults` it returns.
 */
export function batchDeliver<T extends EventType>(handler: BatchHandler<T>): Deliver {
  return async (events, context) => {
    const outcomes: Outcome[] = new Array<Outcome>(events.length);
    const valid: DeliveredEvent<T>[] = [];
    for (let i = 0; i < events.length; i++) {
      const rejected = rejectionOf(events[i]);
      if (rejected) outcomes[i] = rejected;
      else valid.push(events[i] as DeliveredEvent<T>);
    }
    let shared: Outcome = ACK;
    let each: BatchResults | void = undefined;
    if (valid.length > 0) {
      try {
        each = await handler(valid, context);
      } catch (error) {
        shared = outcomeOf(error);
      }
    }
    for (let i = 0, k = 0; i < events.length; i++) {
      if (outcomes[i]) continue;
      // Results are in the order of the valid events handed to the handler.
      const result = each ? each[k++] : undefined;
      outcomes[i] = result === undefined ? shared : outcomeOf(result);
    }
    return outcomes;
  };
}
