/**
 * The bus middleware behind tracing: a PRODUCER span per published event and a CONSUMER span per
 * handler call, with OpenTelemetry's messaging semantic conventions; the trace context travels in
 * the envelope's `traceparent`/`tracestate` (CloudEvents distributed-tracing extension), so it
 * crosses engines and processes. Installed only when tracing is on.
 */
import { context, SpanKind, trace, type Link } from '@opentelemetry/api';
import type { BusMiddleware } from '../bus/index.ts';
import { withLogFields } from '../platform/log-context.ts';
import { inSpan, type Tracing } from '../platform/tracing.ts';

// Messaging attribute names of the semantic conventions (still "incubating" there, so the
// package advises copying them rather than importing them).
const SYSTEM = 'messaging.system';
const OPERATION_TYPE = 'messaging.operation.type';
const OPERATION_NAME = 'messaging.operation.name';
const DESTINATION = 'messaging.destination.name';
const MESSAGE_ID = 'messaging.message.id';
const CONSUMER_GROUP = 'messaging.consumer.group.name';
const BATCH_COUNT = 'messaging.batch.message_count';

/** `messaging.system` of Flamingo's spans. */
export const MESSAGING_SYSTEM = 'flamingo';

export function busTracing(tracing: Tracing): BusMiddleware {
  const { tracer } = tracing;
  return {
    async publish(events, next) {
      // The event's own context (set by its creator: an HTTP request, a handler's reaction) is
      // the parent; an event without one is a child of whatever span is active.
      const spans = events.map((event) => {
        const parent = event.traceparent ? tracing.extract(event) : context.active();
        const span = tracer.startSpan(
          `publish ${event.type}`,
          { kind: SpanKind.PRODUCER, attributes: { [SYSTEM]: MESSAGING_SYSTEM, [OPERATION_TYPE]: 'send', [OPERATION_NAME]: 'publish', [DESTINATION]: event.type, [MESSAGE_ID]: event.id } },
          parent,
        );
        return { span, headers: tracing.inject(trace.setSpan(parent, span)) };
      });
      try {
        return await next(events.map((event, i) => ({ ...event, ...spans[i].headers })));
      } catch (error) {
        for (const { span } of spans) {
          span.recordException(error as Error);
          span.setStatus({ code: 2, message: (error as Error).message });
        }
        throw error;
      } finally {
        for (const { span } of spans) span.end();
      }
    },

    handle(call, next) {
      const [first] = call.events;
      const parent = tracing.extract(first);
      // A batch continues its first event's trace and links the others'.
      const links: Link[] = [];
      for (const event of call.events.slice(1)) {
        const linked = trace.getSpanContext(tracing.extract(event));
        if (linked) links.push({ context: linked });
      }
      const span = tracer.startSpan(
        `process ${first.type}`,
        {
          kind: SpanKind.CONSUMER,
          links,
          attributes: {
            [SYSTEM]: MESSAGING_SYSTEM,
            [OPERATION_TYPE]: 'process',
            [OPERATION_NAME]: 'process',
            [DESTINATION]: first.type,
            [MESSAGE_ID]: first.id,
            [CONSUMER_GROUP]: call.subscription,
            'messaging.message.delivery_attempt': call.attempt,
            ...(call.events.length > 1 ? { [BATCH_COUNT]: call.events.length } : {}),
          },
        },
        parent,
      );
      return inSpan(span, parent, next);
    },
  };
}

/** The bus middleware that puts the event being handled on every log line its handler writes. */
export function handlerLogFields(): BusMiddleware {
  return {
    handle: (call, next) => withLogFields({ event_id: call.events[0].id, event_type: call.events[0].type, subscription: call.subscription }, next),
  };
}
