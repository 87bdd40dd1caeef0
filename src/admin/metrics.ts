import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../platform/metrics.ts';

/** `GET /metrics`: Prometheus text format, public like most scrape targets (counts only, no event data). */
export function metricsRoutes(app: FastifyInstance, metrics: Metrics): void {
  app.get('/metrics', { config: { auth: 'public' }, schema: { tags: ['health'], summary: 'Prometheus metrics' } }, async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
}
