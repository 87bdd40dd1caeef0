/**
 * The routes of a running Flamingo, read from the server itself (`app.routeList`), so a test that
 * walks "every route" also walks a route added tomorrow.
 */
import type { FastifyInstance } from 'fastify';

export interface ConcreteRoute {
  readonly method: string;
  /** The registered pattern, e.g. `/v1/orders/:id`. */
  readonly pattern: string;
  /** The pattern with every parameter (`:id`, `*`) replaced by `value`, encoded as given. */
  readonly path: string;
  /** The names of its parameters (`*` for a wildcard). */
  readonly params: readonly string[];
}

/** Methods whose requests Fastify reads a body for. */
export const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Every route of `app`, its parameters filled with `value` (already percent-encoded). */
export function routesOf(app: FastifyInstance, value = 'x'): ConcreteRoute[] {
  return app.routeList.map(({ method, url }) => {
    const params: string[] = [];
    const path = url
      .split('/')
      .map((segment) => {
        if (segment.startsWith(':')) {
          params.push(segment.slice(1));
          return value;
        }
        if (segment === '*') {
          params.push('*');
          return value;
        }
        return segment;
      })
      .join('/');
    return { method, pattern: url, path, params };
  });
}
