import type { ApiKeyInfo } from './keys.ts';

/** Who sent a request, as the guard established it before the body was read. */
export type Principal =
  | { readonly kind: 'admin' }
  | { readonly kind: 'producer'; readonly key: ApiKeyInfo }
  /** An analyst key: reads the warehouse, nothing else. */
  | { readonly kind: 'analyst'; readonly key: ApiKeyInfo }
  /** A signed-in customer (a session token, `POST /v1/auth/login`), not banned. */
  | { readonly kind: 'customer'; readonly userId: string; readonly email: string }
  /** No Authorization header at all. */
  | { readonly kind: 'anonymous' };

/**
 * Who may call a route, declared once per route as `config: { auth }` and enforced by the guard in
 * `onRequest`, before the body is read or validated (issue 7 item 11):
 * - `public`: anyone; credentials are not looked at (catalog, health, sign-up, sign-in);
 * - `optional`: anyone, but credentials that are sent must be valid (guest carts, the seed endpoint);
 * - `key`: the admin key or a producer key (the collector);
 * - `admin`: the admin key;
 * - `customer`: a customer's session token;
 * - `customerOrAdmin`: a customer's session token or the admin key (a customer's own data);
 * - `analyst`: an analyst key or the admin key (the warehouse).
 * A banned customer's token is refused (403) on every route but the public ones.
 */
export type RouteAuth = 'public' | 'optional' | 'key' | 'admin' | 'customer' | 'customerOrAdmin' | 'analyst';

export const ROUTE_AUTH: readonly RouteAuth[] = ['public', 'optional', 'key', 'admin', 'customer', 'customerOrAdmin', 'analyst'];
