/**
 * The HTTP collector: how events from outside reach the bus. `POST /v1/events` (CloudEvents
 * structured, binary and batch modes, producer keys) and `POST /event` (the seed's envelope).
 */
import type { FastifyInstance } from 'fastify';
import type { CollectorDeps } from './deps.ts';
import { eventsCollectorRoutes } from './routes.ts';
import { seedEventRoutes } from './seed-route.ts';

export { DEFAULT_LIMITS, type CollectLimits } from './collect.ts';
export type { CollectorDeps } from './deps.ts';

/** Registers the collector's routes on a server made by `createHttpServer` (platform/http.ts). */
export function collectorRoutes(app: FastifyInstance, deps: CollectorDeps): void {
  const routes = new Set(['/v1/events', '/event']);
  // Every answer of the collector's routes, refusals by the guard (onRequest) included.
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url;
    if (route && routes.has(route)) deps.metrics.collectorRequests.inc({ route, status: String(reply.statusCode) });
    done();
  });
  eventsCollectorRoutes(app, deps);
  seedEventRoutes(app, deps);
}
