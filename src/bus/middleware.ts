/**
 * Middleware around the bus's two verbs (DESIGN.md "bus … middleware"), for tracing and metrics:
 * each one sees every publish and every handler call and must call `next`. The first middleware
 * given is the outermost. Without middleware the bus adds nothing to either path.
 * Source of the shape: Watermill's `HandlerMiddleware`, MassTransit's filters (`Send`/`Consume`).
 */
import type { EventType, UnstoredEvent } from '../contracts/index.ts';
import type { BatchHandler, BatchResults, DeliveredEvent, Handler, HandlerContext, PublishResult } from './types.ts';

/** One handler call: the event (or the batch's events) and where it came from. */
export interface HandleCall {
  readonly subscription: string;
  /** 1 on first delivery (the first event's, for a batch). */
  readonly attempt: number;
  /** One event, or the events of one batch call, in log order. */
  readonly events: readonly DeliveredEvent[];
}

export interface BusMiddleware {
  /**
   * Around each `publish`/`publishAll`: the built, validated envelopes before they are appended.
   * Call `next(events)` (it may pass changed envelopes, e.g. with `traceparent` set) and return
   * its results; a throw fails the publish.
   */
  publish?(events: readonly UnstoredEvent[], next: (events: readonly UnstoredEvent[]) => Promise<PublishResult[]>): Promise<PublishResult[]>;
  /**
   * Around each handler call. `next()` runs the handler (and inner middleware); what it throws is
   * the handler's outcome (retry, `retryAfter`, `failPermanently`): rethrow it unless you mean to
   * change the outcome.
   */
  handle?(call: HandleCall, next: () => Promise<void>): Promise<void>;
}

/** `append` wrapped in the publish middleware, outermost first. */
export function publishThrough(middleware: readonly BusMiddleware[], append: (events: readonly UnstoredEvent[]) => Promise<PublishResult[]>) {
  const layers = middleware.filter((m) => m.publish);
  if (layers.length === 0) return append;
  return layers.reduceRight<(events: readonly UnstoredEvent[]) => Promise<PublishResult[]>>((next, layer) => (events) => layer.publish!(events, next), append);
}

function around(middleware: readonly BusMiddleware[], call: HandleCall, run: () => Promise<void>): Promise<void> {
  const layers = middleware.filter((m) => m.handle);
  const chain = layers.reduceRight<() => Promise<void>>((next, layer) => () => layer.handle!(call, next), run);
  return chain();
}

/** `handler` wrapped in the handle middleware (the handler itself when there is none). */
export function handleThrough<T extends EventType>(middleware: readonly BusMiddleware[], handler: Handler<T>): Handler<T> {
  if (!middleware.some((m) => m.handle)) return handler;
  return (event: DeliveredEvent<T>, context: HandlerContext) =>
    around(middleware, { subscription: context.subscription, attempt: context.attempt, events: [event as DeliveredEvent] }, async () => handler(event, context));
}

/** `handler` (a batch handler) wrapped in the handle middleware (itself when there is none). */
export function handleBatchThrough<T extends EventType>(middleware: readonly BusMiddleware[], handler: BatchHandler<T>): BatchHandler<T> {
  if (!middleware.some((m) => m.handle)) return handler;
  return async (events: readonly DeliveredEvent<T>[], context: HandlerContext) => {
    // Per-event results pass by the middleware (which sees the call as one) to the bus.
    let results: BatchResults | void = undefined;
    await around(middleware, { subscription: context.subscription, attempt: context.attempt, events: events as readonly DeliveredEvent[] }, async () => {
      results = await handler(events, context);
    });
    return results;
  };
}
