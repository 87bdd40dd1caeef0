import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { matchesTypePattern } from '../config.ts';
import { forbidden, unauthorized } from '../errors.ts';
import type { ApiKeyInfo, KeyStore } from './keys.ts';

/** Who sent a request. */
export type Principal =
  | { readonly kind: 'admin' }
  | { readonly kind: 'producer'; readonly key: ApiKeyInfo }
  /** No Authorization header at all. */
  | { readonly kind: 'anonymous' };

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the guard's hooks; `anonymous` before them. */
    principal: Principal;
    /** Where `principal` is kept once a hook has set it. */
    principalSet: Principal | null;
  }
}

export interface Guard {
  /** Who the request's `Authorization: Bearer <key>` belongs to; throws 401 for a key that is not valid. */
  identify(request: FastifyRequest): Promise<Principal>;
  /** preHandler: 401 without a valid key, 403 for a producer key. */
  readonly requireAdmin: preHandlerAsyncHookHandler;
  /** preHandler (use it as onRequest, before the body is read): 401 unless the admin key or a producer key is given. */
  readonly requireKey: preHandlerAsyncHookHandler;
  /** True when the principal may publish events of `type` (the admin may publish anything). */
  mayPublish(principal: Principal, type: string): boolean;
}

const ANONYMOUS: Principal = { kind: 'anonymous' };
const digest = (value: string) => createHash('sha256').update(value).digest();

function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw unauthorized('the Authorization header must be "Bearer <key>"');
  return match[1];
}

/** API key authentication: the admin key can do everything; producer keys publish the types they are scoped to. */
export function createGuard(app: FastifyInstance, adminKey: string, keys: KeyStore): Guard {
  const adminDigest = digest(adminKey);
  // Kept in a field every request has from the start (a decoration), so setting it does not change the request's shape.
  app.decorateRequest('principalSet', null);
  app.decorateRequest('principal', {
    getter(this: FastifyRequest) {
      return this.principalSet ?? ANONYMOUS;
    },
    setter(this: FastifyRequest, value: Principal) {
      this.principalSet = value;
    },
  });

  const identify = async (request: FastifyRequest): Promise<Principal> => {
    const secret = bearerOf(request);
    if (secret === undefined) return { kind: 'anonymous' };
    if (timingSafeEqual(digest(secret), adminDigest)) return { kind: 'admin' };
    const key = await keys.verify(secret);
    if (!key) throw unauthorized('the API key is not valid (unknown or revoked)');
    return { kind: 'producer', key };
  };

  return {
    identify,
    async requireAdmin(request) {
      const principal = await identify(request);
      if (principal.kind === 'anonymous') throw unauthorized();
      if (principal.kind !== 'admin') throw forbidden('this needs the admin key');
      request.principal = principal;
    },
    async requireKey(request) {
      const principal = await identify(request);
      if (principal.kind === 'anonymous') throw unauthorized();
      request.principal = principal;
    },
    mayPublish(principal, type) {
      if (principal.kind === 'admin') return true;
      if (principal.kind === 'producer') return principal.key.types.some((p) => matchesTypePattern(p, type));
      return false;
    },
  };
}
