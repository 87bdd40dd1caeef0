import type { BusMiddleware } from '../bus/index.ts';
import type { Metrics } from '../platform/metrics.ts';

/**
 * The bus middleware behind the handler metrics: times every handler call into
 * `flamingo_handler_duration_seconds`, counts its events by outcome and its redeliveries, and
 * observes each successfully handled event's end-to-end latency (from `recordedtime`).
 */
export function handlerMetrics(metrics: Pick<Metrics, 'handlerDuration' | 'eventsHandled' | 'handlerRetries' | 'endToEnd'>): BusMiddleware {
  return {
    async handle(call, next) {
      const { subscription, events } = call;
      if (call.attempt > 1) metrics.handlerRetries.inc({ subscription });
      const end = metrics.handlerDuration.startTimer({ subscription });
      try {
        await next();
      } catch (error) {
        end({ outcome: 'error' });
        metrics.eventsHandled.inc({ subscription, outcome: 'error' }, events.length);
        throw error;
      }
      end({ outcome: 'ack' });
      metrics.eventsHandled.inc({ subscription, outcome: 'ack' }, events.length);
      const now = Date.now();
      for (const event of events) {
        const recorded = Date.parse(event.recordedtime);
        if (Number.isFinite(recorded)) metrics.endToEnd.observe({ subscription }, Math.max(0, now - recorded) / 1000);
      }
    },
  };
}
