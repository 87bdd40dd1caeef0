import type { FastifyInstance } from 'fastify';
import { catalogRoutes } from './catalog.ts';
import { deadLetterRoutes } from './dead-letters.ts';
import type { RouteDeps } from './deps.ts';
import { eventsCollectorRoutes } from './events-collector.ts';
import { eventsReadRoutes } from './events-read.ts';
import { healthRoutes } from './health.ts';
import { keyRoutes } from './keys.ts';
import { metricsRoutes } from './metrics.ts';
import { ErrorBody } from './schemas.ts';
import { seedEventRoutes } from './seed-event.ts';
import { subscriptionRoutes } from './subscriptions.ts';

export type { RouteDeps } from './deps.ts';

/** Registers the platform's own routes: collector, admin, catalog, health and metrics. */
export function registerRoutes(app: FastifyInstance, deps: RouteDeps & { version: string }): void {
  app.addSchema(ErrorBody);
  eventsCollectorRoutes(app, deps);
  seedEventRoutes(app, deps);
  eventsReadRoutes(app, deps);
  subscriptionRoutes(app, deps);
  deadLetterRoutes(app, deps);
  keyRoutes(app, deps);
  catalogRoutes(app, { version: deps.version });
  healthRoutes(app, deps.bus);
  metricsRoutes(app, deps.metrics);
  deps.metrics.watchSubscriptions(() => deps.bus.subscriptions());
}
