/**
 * A customer's data (account, orders, cart) is read by the administrator (the admin key) or by the
 * customer it belongs to (their session token), both as `Authorization: Bearer <…>`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { ApiError, forbidden, unauthorized, type ProblemDetail } from '../errors.ts';
import type { Tokens } from '../tokens.ts';

/** Who asks for a customer's data. */
export type CustomerReader = { readonly kind: 'admin' } | { readonly kind: 'customer'; readonly userId: string };

/** OpenAPI `security` of a route read by the admin key or the customer's session token. */
export const customerOrAdminSecurity: readonly Readonly<Record<string, readonly string[]>>[] = [{ apiKey: [] }, { customerToken: [] }];

export interface CustomerAccessOptions {
  /** Verifies customer session tokens. */
  readonly tokens: Tokens;
  /** The app's admin check (401 for no or an unknown key, 403 for a producer key). */
  readonly requireAdmin: preHandlerAsyncHookHandler;
}

export interface CustomerAccess {
  /**
   * The admin or the signed-in customer. 401 without credentials or with a key or token that is
   * not valid (an expired session token too); 403 for a producer key.
   */
  reader(request: FastifyRequest, reply: FastifyReply): Promise<CustomerReader>;
  /** 403 unless `reader` is the admin or the customer `ownerId`; `detail` names the field that chose the customer. */
  ensureOwner(reader: CustomerReader, ownerId: string, detail?: readonly ProblemDetail[]): void;
  /** `reader`, then `ensureOwner`: for a route that names the customer (`/users/:id`, `?userId=`). */
  requireOwner(request: FastifyRequest, reply: FastifyReply, ownerId: string, detail?: readonly ProblemDetail[]): Promise<CustomerReader>;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;
const missing = () =>
  unauthorized('send the admin key or the customer’s session token (POST /v1/auth/login): Authorization: Bearer <key or token>');

/** The "admin key or owning customer" guard, shared by the services that hold customers' data. */
export function createCustomerAccess(http: FastifyInstance, options: CustomerAccessOptions): CustomerAccess {
  const { tokens, requireAdmin } = options;

  const reader = async (request: FastifyRequest, reply: FastifyReply): Promise<CustomerReader> => {
    const header = request.headers.authorization;
    if (header === undefined) throw missing();
    const token = BEARER.exec(header)?.[1];
    const claims = token === undefined ? undefined : await tokens.verify(token);
    if (claims) return { kind: 'customer', userId: claims.userId };
    try {
      await requireAdmin.call(http, request, reply);
    } catch (error) {
      // Neither a session token nor a valid key: one answer for both, naming both ways in.
      if (error instanceof ApiError && error.status === 401) throw missing();
      throw error;
    }
    return { kind: 'admin' };
  };

  const ensureOwner: CustomerAccess['ensureOwner'] = (who, ownerId, detail) => {
    if (who.kind === 'customer' && who.userId !== ownerId) throw forbidden('this belongs to another customer: only they or the admin may see it', detail);
  };

  return {
    reader,
    ensureOwner,
    async requireOwner(request, reply, ownerId, detail) {
      const who = await reader(request, reply);
      ensureOwner(who, ownerId, detail);
      return who;
    },
  };
}
