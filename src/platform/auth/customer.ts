/**
 * A customer's data (account, orders, carts, shipments) is for the administrator (the admin key)
 * and for the customer it belongs to (their session token). The guard has established who asks
 * (`request.principal`) before the route runs; these helpers decide whether they may.
 */
import { forbidden, unauthorized, type ProblemDetail } from '../errors.ts';
import type { Principal } from './principal.ts';

/** The signed-in customer's id, or undefined for anyone else. */
export function customerIdOf(principal: Principal): string | undefined {
  return principal.kind === 'customer' ? principal.userId : undefined;
}

/** The signed-in customer's id on a `customer` route (the guard let nobody else through; 401 otherwise). */
export function signedInCustomer(principal: Principal): string {
  if (principal.kind !== 'customer') throw unauthorized('sign in first: send Authorization: Bearer <session token> (POST /v1/auth/login)');
  return principal.userId;
}

/**
 * 403 unless `principal` is the admin or the customer `ownerId`; `detail` names the field that chose
 * the customer (`/userId`, `/query/userId`).
 */
export function ensureOwner(principal: Principal, ownerId: string, detail?: readonly ProblemDetail[]): void {
  if (principal.kind === 'admin') return;
  if (principal.kind === 'customer' && principal.userId === ownerId) return;
  throw forbidden(
    principal.kind === 'customer' ? 'this belongs to another customer: only they or the admin may use it' : "this needs the admin key or the customer's session token",
    detail,
  );
}
