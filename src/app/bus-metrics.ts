import type { BusMiddleware } from '../bus/index.ts';
import type { Metrics } from '../platform/metrics.ts';

/** The bus middleware that times every handler call into `flamingo_handler_duration_seconds`. */
export function handlerMetrics(metrics: Pick<Metrics, 'handlerDuration'>): BusMiddleware {
  return {
    async handle(call, next) {
      const end = metrics.handlerDuration.startTimer({ subscription: call.subscription });
      try {
        await next();
        end({ outcome: 'ack' });
      } catch (error) {
        end({ outcome: 'error' });
        throw error;
      }
    },
  };
}
