/**
 * The one guard of the HTTP API (issue 7 items 1, 3 and 11): every route declares who may call it
 * (`config: { auth }`, see `RouteAuth`); the guard authenticates in the route's `onRequest` hook, so
 * an anonymous or banned caller is refused before the body is read or validated, and a route that
 * declares nothing cannot be registered. It also documents each route's `security` in OpenAPI.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { SESSION_COOKIE, SESSION_ROUTE } from './session.ts';
import { ApiError, forbidden, unauthorized } from '../errors.ts';
import type { Tokens } from '../tokens.ts';
import type { KeyStore } from './keys.ts';
import { ROUTE_AUTH, type Principal, type RouteAuth } from './principal.ts';
import { publishRefusal } from './publishing.ts';
import type { RevocationStore } from './revocations.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route; required on every route (see `RouteAuth`). */
    auth?: RouteAuth;
  }
  interface FastifyRequest {
    /** Set by the guard in `onRequest`; `anonymous` before it and on public routes. */
    principal: Principal;
    /**
     * Whether the request's credentials still name `principal` now: checked again from the
     * request's header or session cookie (expiry, a revoked key, a ban). For what stays open long
     * after the guard let it in (a live stream). Installed by the guard (`createGuard`).
     */
    stillAuthenticated(): Promise<boolean>;
    /** Where `principal` is kept once the guard has set it. */
    principalSet: Principal | null;
  }
}

export interface GuardOptions {
  readonly adminKey: string;
  readonly keys: KeyStore;
  /** Verifies customer session tokens. */
  readonly tokens: Tokens;
  /** Banned customers, whose tokens are refused. */
  readonly revocations: RevocationStore;
}

export interface Guard {
  /**
   * Who the request's `Authorization: Bearer <…>` belongs to: the admin key, a producer key, a
   * customer's session token, or nobody (no header). 401 for a header, key or token that is not
   * valid; 403 for a banned customer's token.
   */
  identify(request: FastifyRequest): Promise<Principal>;
  /** Why `principal` may not publish `type` over HTTP (naming its producer and how to get a key), or undefined when it may. */
  publishRefusal(principal: Principal, type: string): string | undefined;
}

const ANONYMOUS: Principal = { kind: 'anonymous' };
const digest = (value: string) => createHash('sha256').update(value).digest();
const BEARER = /^Bearer\s+(\S+)\s*$/i;
const SIGN_IN = 'POST /v1/auth/login';

/** Which principals each level lets through, and what an anonymous or a wrong caller is told. */
const LEVELS: Record<Exclude<RouteAuth, 'public' | 'optional'>, { accepts: readonly Principal['kind'][]; missing: string; wrong: string }> = {
  key: { accepts: ['admin', 'producer'], missing: 'missing API key: send Authorization: Bearer <key>', wrong: 'this needs an API key (the admin key or a producer key)' },
  admin: { accepts: ['admin'], missing: 'this needs the admin key: send Authorization: Bearer <admin key>', wrong: 'this needs the admin key' },
  customer: {
    accepts: ['customer'],
    missing: `sign in first: send Authorization: Bearer <session token> (${SIGN_IN})`,
    wrong: `this needs a customer's session token (${SIGN_IN})`,
  },
  analyst: {
    accepts: ['analyst', 'admin'],
    missing: 'this needs an analyst key or the admin key: send Authorization: Bearer <key>',
    wrong: 'this needs an analyst key or the admin key',
  },
  customerOrAdmin: {
    accepts: ['customer', 'admin'],
    missing: `send the admin key or the customer's session token (${SIGN_IN}): Authorization: Bearer <key or token>`,
    wrong: "this needs the admin key or the customer's session token",
  },
};

/** OpenAPI `security` of each level (`{}`: credentials optional). */
const SECURITY: Record<RouteAuth, Record<string, string[]>[]> = {
  public: [],
  optional: [{}, { apiKey: [] }, { customerToken: [] }],
  key: [{ apiKey: [] }],
  admin: [{ apiKey: [] }],
  customer: [{ customerToken: [] }],
  customerOrAdmin: [{ apiKey: [] }, { customerToken: [] }],
  analyst: [{ apiKey: [] }],
};

export const banned = () =>
  new ApiError(403, 'forbidden', 'this customer is banned: their session tokens are refused', [
    { path: '/headers/authorization', message: 'is the session token of a banned customer' },
  ]);

/**
 * Creates the guard and installs it on `app`: every route registered from now on must declare
 * `config.auth`. Register the routes after this call.
 */
export function createGuard(app: FastifyInstance, options: GuardOptions): Guard {
  const { keys, tokens, revocations } = options;
  const adminDigest = digest(options.adminKey);
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

  /**
   * A browser session (the HttpOnly cookie `flamingo_session`, session.ts) stands beside the bearer
   * key/token for what a browser cannot send a header with (EventSource): only on GET and HEAD, so
   * a page of another site cannot make the browser change anything with it (no CSRF).
   */
  const fromSession = async (request: FastifyRequest): Promise<Principal> => {
    const cookie = request.cookies?.[SESSION_COOKIE];
    if (cookie === undefined || (request.method !== 'GET' && request.method !== 'HEAD')) return ANONYMOUS;
    const session = await tokens.verifySession(cookie);
    if (!session) throw unauthorized(`the browser session is not valid (expired or altered): start one again with POST ${SESSION_ROUTE}`);
    if (session.kind === 'admin') return { kind: 'admin' };
    if (await revocations.isRevoked(session.userId)) throw banned();
    return { kind: 'customer', userId: session.userId, email: session.email };
  };

  const identify = async (request: FastifyRequest): Promise<Principal> => {
    const header = request.headers.authorization;
    if (header === undefined) return fromSession(request);
    const secret = BEARER.exec(header)?.[1];
    if (secret === undefined) throw unauthorized('the Authorization header must be "Bearer <key or session token>"');
    if (timingSafeEqual(digest(secret), adminDigest)) return { kind: 'admin' };
    const key = await keys.verify(secret);
    if (key) return key.role === 'analyst' ? { kind: 'analyst', key } : { kind: 'producer', key };
    const claims = await tokens.verify(secret);
    if (!claims) throw unauthorized(`the key or session token is not valid (unknown, revoked or expired; customers sign in again with ${SIGN_IN})`);
    if (await revocations.isRevoked(claims.userId)) throw banned();
    return { kind: 'customer', userId: claims.userId, email: claims.email };
  };

  /** Whether two principals are the same caller (same key, same customer). */
  const samePrincipal = (a: Principal, b: Principal): boolean => {
    if (a.kind !== b.kind) return false;
    if (a.kind === 'customer' && b.kind === 'customer') return a.userId === b.userId;
    if ((a.kind === 'producer' || a.kind === 'analyst') && (b.kind === 'producer' || b.kind === 'analyst')) return a.key.id === b.key.id;
    return true;
  };
  app.decorateRequest('stillAuthenticated', async function (this: FastifyRequest): Promise<boolean> {
    const now = await identify(this).catch(() => undefined);
    return now !== undefined && samePrincipal(now, this.principal);
  });

  const hookFor = (auth: Exclude<RouteAuth, 'public'>): onRequestAsyncHookHandler => {
    if (auth === 'optional') {
      return async (request) => {
        request.principal = await identify(request);
      };
    }
    const level = LEVELS[auth];
    return async (request) => {
      let principal: Principal;
      try {
        principal = await identify(request);
      } catch (error) {
        // Bad credentials: say what was wrong and what this route takes.
        if (error instanceof ApiError && error.status === 401) throw unauthorized(`${error.message}; ${level.missing}`);
        throw error;
      }
      if (!level.accepts.includes(principal.kind)) throw principal.kind === 'anonymous' ? unauthorized(level.missing) : forbidden(level.wrong);
      request.principal = principal;
    };
  };
  const hooks = Object.fromEntries(ROUTE_AUTH.filter((a) => a !== 'public').map((a) => [a, hookFor(a as Exclude<RouteAuth, 'public'>)]));

  app.addHook('onRoute', (route) => {
    const auth = route.config?.auth;
    if (auth === undefined || !ROUTE_AUTH.includes(auth)) {
      throw new Error(`${String(route.method)} ${route.url}: declare who may call it with config.auth (${ROUTE_AUTH.join(', ')})`);
    }
    route.schema = { ...route.schema, security: SECURITY[auth] };
    if (auth === 'public') return;
    const own = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
    // Authentication first: before the route's own hooks, the body and its validation.
    route.onRequest = [hooks[auth], ...own];
  });

  return {
    identify,
    publishRefusal(principal, type) {
      switch (principal.kind) {
        case 'admin':
          return publishRefusal('admin', type);
        case 'producer':
          return publishRefusal(principal.key, type);
        case 'analyst':
          return 'an analyst key reads the warehouse and publishes nothing: publish with a producer key (flamingo keys create --producer …)';
        default:
          return 'only API keys publish events';
      }
    },
  };
}
