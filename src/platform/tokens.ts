import { SignJWT, jwtVerify, errors } from 'jose';

/** What a customer's session token says about them. */
export interface CustomerClaims {
  readonly userId: string;
  readonly email: string;
  /** Issued-at, seconds since the epoch. */
  readonly issuedAt: number;
}

export interface Tokens {
  /** A signed session token (JWT, HS256) for a customer. */
  sign(claims: { userId: string; email: string }): Promise<string>;
  /** The claims of a valid, unexpired token; `undefined` for anything else. */
  verify(token: string): Promise<CustomerClaims | undefined>;
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
        if (typeof payload.sub !== 'string' || typeof payload.email !== 'string') return undefined;
        return { userId: payload.sub, email: payload.email, issuedAt: payload.iat ?? 0 };
      } catch (error) {
        if (error instanceof errors.JOSEError) return undefined;
        throw error;
      }
    },
  };
}
