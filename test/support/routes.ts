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
  /** Who may call it, as the route declares (`config.auth`: `admin`, `customer`, …). */
  readonly auth?: string;
}

/** Methods whose requests Fastify reads a body for. */
export const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Every route of `app`, its parameters filled with `value` (already percent-encoded). */
export function routesOf(app: FastifyInstance, value = 'x'): ConcreteRoute[] {
  return app.routeList.map(({ method, url, auth }) => {
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
    return { method, pattern: url, path, params, auth };
  });
}

/**
 * The routes a running Flamingo serves, read from its own OpenAPI document (`/docs/json`), with who
 * may call each (`security`, derived by the guard from the route's declared `config.auth`). Tests
 * that must cover every route enumerate them here, so a route added later is covered too.
 */

/** One operation of the OpenAPI document. */
export interface DocumentedRoute {
  /** `GET`, `POST`, … */
  readonly method: string;
  /** The OpenAPI path, parameters in braces: `/v1/orders/{id}`. */
  readonly path: string;
  /** OpenAPI security requirements: `[]` public, `{}` among them: credentials optional. */
  readonly security: readonly Record<string, unknown>[];
}

/** Every operation of the server's OpenAPI document; throws for one that declares no `security`. */
export async function documentedRoutes(baseUrl: string): Promise<DocumentedRoute[]> {
  const response = await fetch(`${baseUrl}/docs/json`);
  if (response.status !== 200) throw new Error(`GET /docs/json answered ${response.status}`);
  const doc = (await response.json()) as { paths: Record<string, Record<string, { security?: Record<string, unknown>[] }>> };
  const routes: DocumentedRoute[] = [];
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      if (operation.security === undefined) throw new Error(`${method.toUpperCase()} ${path} documents no security: every route must declare config.auth`);
      routes.push({ method: method.toUpperCase(), path, security: operation.security });
    }
  }
  return routes;
}

/** Routes that refuse anonymous callers: some credentials required. */
export const needsCredentials = (route: DocumentedRoute) => route.security.length > 0 && !route.security.some((s) => Object.keys(s).length === 0);
/** Routes that take a customer's session token (required or optional). */
export const takesCustomerToken = (route: DocumentedRoute) => route.security.some((s) => 'customerToken' in s);

/** The path with each `{param}` replaced by `values[param]`, or by `fallback`. */
export function concretePath(path: string, values: Readonly<Record<string, string>> = {}, fallback = 'x'): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(values[name] ?? fallback));
}

export const hasBody = (method: string) => BODY_METHODS.has(method);

/** What a route answered a request: status and error message. */
export interface RouteAnswer {
  readonly route: string;
  readonly status: number;
  readonly message?: string;
}

/**
 * Calls `route` on `baseUrl` with `Authorization: Bearer <token>` and a body of `{}` where it takes
 * one; parameters are `x` (the guard answers before they matter).
 */
export async function callRoute(baseUrl: string, route: DocumentedRoute, token: string): Promise<RouteAnswer> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  let body: string | undefined;
  if (hasBody(route.method)) {
    headers['content-type'] = 'application/json';
    body = '{}';
  }
  const response = await fetch(`${baseUrl}${concretePath(route.path)}`, { method: route.method, headers, body });
  // A live stream (Server-Sent Events) that was accepted never ends: its status is the answer.
  if (response.headers.get('content-type')?.startsWith('text/event-stream')) {
    await response.body?.cancel();
    return { route: `${route.method} ${route.path}`, status: response.status, message: undefined };
  }
  const text = await response.text();
  let message: string | undefined;
  try {
    message = (JSON.parse(text) as { message?: string }).message;
  } catch {
    message = undefined;
  }
  return { route: `${route.method} ${route.path}`, status: response.status, message };
}

/** A banned customer's refusal: 403 saying so. */
export const refusedAsBanned = (answer: RouteAnswer) => answer.status === 403 && /banned/.test(answer.message ?? '');
