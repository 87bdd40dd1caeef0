/**
 * The admin API: reading the log (pages, or live over SSE), subscriptions (rewind, pause), dead letters, producer keys, the
 * catalog documents, health and metrics, and the sampled last hour the console charts (`/v1/overview`). Every route declares its auth (`admin` for most).
 */
import type { FastifyInstance } from 'fastify';
import { catalogRoutes } from './catalog.ts';
import { contractRoutes } from './contracts.ts';
import { deadLetterRoutes } from './dead-letters.ts';
import type { AdminDeps } from './deps.ts';
import { eventsReadRoutes } from './events.ts';
import { healthRoutes } from './health.ts';
import { keyRoutes } from './keys.ts';
import { metricsRoutes } from './metrics.ts';
import { overviewRoutes } from './overview.ts';
import { eventStreamRoutes } from './stream.ts';
import { subscriptionRoutes } from './subscriptions.ts';

export type { AdminDeps } from './deps.ts';

/** Registers the admin API's routes on a server made by `createHttpServer` (platform/http.ts). */
export function adminRoutes(app: FastifyInstance, deps: AdminDeps): void {
  eventsReadRoutes(app, deps);
  eventStreamRoutes(app, deps);
  subscriptionRoutes(app, deps);
  deadLetterRoutes(app, deps);
  keyRoutes(app, deps);
  catalogRoutes(app, deps);
  contractRoutes(app, deps);
  healthRoutes(app, deps.bus);
  metricsRoutes(app, deps.metrics);
  overviewRoutes(app, deps.bus, deps.overview);
  deps.metrics.watchSubscriptions(async () => {
    const now = Date.now();
    return Promise.all(
      (await deps.bus.subscriptions()).map(async (s) => {
        if (s.lag === 0) return { ...s, lagSeconds: 0 };
        // The first matching event after the position is the oldest one not yet done.
        const [oldest] = await deps.bus.read({ types: s.types, afterSequence: s.position, limit: 1 });
        return { ...s, lagSeconds: oldest ? Math.max(0, now - Date.parse(oldest.recordedtime)) / 1000 : 0 };
      }),
    );
  });
}
