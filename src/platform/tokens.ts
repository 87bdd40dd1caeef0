import { SignJWT, jwtVerify, errors } from 'jose';

/** What a customer's session token says about them. */
export interface CustomerClaims {
  readonly userId: string;
  readonly email: string;
  /** Issued-at, seconds since the epoch. */
  readonly issuedAt: number;
}

/** Who a browser session (the `flamingo_session` cookie) speaks for. */
export type BrowserSession = { readonly kind: 'admin' } | { readonly kind: 'customer'; readonly userId: string; readonly email: string };

/** The audience of browser sessions: a session is never a bearer token, and a bearer token never a session. */
const SESSION_AUDIENCE = 'flamingo-browser-session';

export interface Tokens {
  /** A signed session token (JWT, HS256) for a customer. */
  sign(claims: { userId: string; email: string }): Promise<string>;
  /** The claims of a valid, unexpired token; `undefined` for anything else (a browser session included). */
  verify(token: string): Promise<CustomerClaims | undefined>;
  /** A signed browser session (JWT, HS256, audience `flamingo-browser-session`) lasting `ttlSeconds`. */
  signSession(session: BrowserSession, ttlSeconds: number): Promise<string>;
  /** The session of a valid, unexpired browser session token; `undefined` for anything else. */
  verifySession(token: string): Promise<BrowserSession | undefined>;
}

/**
 * Customer session tokens, shared by every service that serves customers.
 * @param secret at least 32 bytes; from `FLAMINGO_TOKEN_SECRET` or generated into the data dir.
 * @param ttlSeconds lifetime of a token. (Default: 24 h)
 */
export function createTokens(secret: string, ttlSeconds = 24 * 3600): Tokens {
  const key = new TextEncoder().encode(secret);
  if (key.length < 32) throw new Error('token secret must be at least 32 bytes');
  return {
    async sign({ userId, email }) {
      return new SignJWT({ email })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(userId)
        .setIssuedAt()
        .setIssuer('flamingo')
        .setExpirationTime(`${ttlSeconds}s`)
        .sign(key);
    },
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, key, { issuer: 'flamingo', algorithms: ['HS256'] });
        if (payload.aud !== undefined) return undefined;
        if (typeof payload.sub !== 'string' || typeof payload.email !== 'string') return undefined;
        return { userId: payload.sub, email: payload.email, issuedAt: payload.iat ?? 0 };
      } catch (error) {
        if (error instanceof errors.JOSEError) return undefined;
        throw error;
      }
    },
    async signSession(session, sessionTtlSeconds) {
      const claims = session.kind === 'admin' ? { role: 'admin' } : { role: 'customer', email: session.email };
      const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setIssuer('flamingo').setAudience(SESSION_AUDIENCE);
      if (session.kind === 'customer') jwt.setSubject(session.userId);
      return jwt.setExpirationTime(`${sessionTtlSeconds}s`).sign(key);
    },
    async verifySession(token) {
      try {
        const { payload } = await jwtVerify(token, key, { issuer: 'flamingo', audience: SESSION_AUDIENCE, algorithms: ['HS256'] });
        if (payload.role === 'admin') return { kind: 'admin' };
        if (payload.role === 'customer' && typeof payload.sub === 'string' && typeof payload.email === 'string') return { kind: 'customer', userId: payload.sub, email: payload.email };
        return undefined;
      } catch (error) {
        if (error instanceof errors.JOSEError) return undefined;
        throw error;
      }
    },
  };
}
