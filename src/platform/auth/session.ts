/**
 * Browser sessions: what lets a web page open an `EventSource` (which cannot send an
 * `Authorization` header) or load a page as the signed-in customer or the admin. A page that holds
 * a bearer key or session token trades it for an HttpOnly cookie (`POST /v1/auth/session`); the
 * guard accepts the cookie on GET and HEAD only (guard.ts), so it can read and stream but never
 * change anything. The cookie is `SameSite=Strict`, `HttpOnly`, `Secure` over HTTPS, and holds a
 * signed session of its own audience (platform/tokens.ts), never the key or token it came from.
 */
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { ErrorAnswer } from '../http-schemas.ts';
import type { Tokens } from '../tokens.ts';

/** The cookie's name. */
export const SESSION_COOKIE = 'flamingo_session';
/** Where a session is started (and ended, with DELETE). */
export const SESSION_ROUTE = '/v1/auth/session';
/** A browser session lasts this long; then the page starts another. (1 hour) */
export const SESSION_TTL_SECONDS = 3600;

/** `POST /v1/auth/session` (the admin key or a customer's session token) and `DELETE /v1/auth/session`. */
export function sessionRoutes(http: FastifyInstance, tokens: Tokens): void {
  const app = http.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['auth'];

  app.post(
    SESSION_ROUTE,
    {
      config: { auth: 'customerOrAdmin' },
      schema: {
        tags,
        summary: 'Start a browser session: an HttpOnly cookie for GET requests and event streams (EventSource)',
        description: `Sets \`${SESSION_COOKIE}\` (HttpOnly, SameSite=Strict, Secure over HTTPS, ${SESSION_TTL_SECONDS} s). The cookie authenticates GET and HEAD requests only.`,
        response: {
          200: Type.Object({ kind: Type.Union([Type.Literal('admin'), Type.Literal('customer')]), expiresAt: Type.String({ format: 'date-time' }) }),
          401: ErrorAnswer,
          403: ErrorAnswer,
        },
      },
    },
    async (request, reply) => {
      const principal = request.principal;
      const session = principal.kind === 'customer' ? { kind: 'customer' as const, userId: principal.userId, email: principal.email } : { kind: 'admin' as const };
      const value = await tokens.signSession(session, SESSION_TTL_SECONDS);
      void reply.setCookie(SESSION_COOKIE, value, {
        httpOnly: true,
        sameSite: 'strict',
        secure: request.protocol === 'https',
        path: '/',
        maxAge: SESSION_TTL_SECONDS,
      });
      return { kind: session.kind, expiresAt: new Date(Date.now() + SESSION_TTL_SECONDS * 1000).toISOString() };
    },
  );

  app.delete(
    SESSION_ROUTE,
    { config: { auth: 'public' }, schema: { tags, summary: 'End the browser session (clears the cookie)', response: { 204: Type.Null() } } },
    async (_request, reply) => {
      void reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.status(204).send(null);
    },
  );
}
