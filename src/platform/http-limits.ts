/**
 * What keeps slow and flooding clients from holding the HTTP server (README "Security › Limits"):
 * Node's header, request, idle and keep-alive timeouts, a connection limit, and per-client rate
 * limits that routes opt into by name (`config: { clientRateLimit: 'login' }`).
 */
import type { ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import type { HttpSettings } from './config.ts';
import { ApiError, type ErrorBody } from './errors.ts';

/** The per-client rate limits a route can opt into. */
export type ClientRateLimit = 'keyless' | 'login';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The per-client rate limit of this route: `keyless` (`FLAMINGO_RATE_LIMIT_KEYLESS`) or `login`
     * (`FLAMINGO_RATE_LIMIT_LOGIN`), counted per IP address over `FLAMINGO_RATE_LIMIT_WINDOW_MS`.
     * Past it the route answers 429 `rate_limited` with `Retry-After`. (Default: none)
     */
    clientRateLimit?: ClientRateLimit;
  }
}

/** The Fastify options (and Node server options, `http`) that carry the timeouts. */
export function timeoutOptions(settings: HttpSettings): {
  requestTimeout: number;
  connectionTimeout: number;
  keepAliveTimeout: number;
  http: ServerOptions;
} {
  return {
    requestTimeout: settings.requestTimeoutMs,
    connectionTimeout: settings.idleTimeoutMs,
    keepAliveTimeout: settings.keepAliveTimeoutMs,
    http: {
      headersTimeout: settings.headersTimeoutMs,
      requestTimeout: settings.requestTimeoutMs,
      // Node looks for expired header and request timeouts only this often (30 s by default), so a
      // timeout is enforced within this much more time.
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(settings.headersTimeoutMs / 2))),
    },
  };
}

/** Writes an error answer on a socket Node's HTTP parser gave up on, and closes it. */
function answerOnSocket(socket: Socket, status: number, reason: string, body: ErrorBody): void {
  if (!socket.writable) return;
  const text = JSON.stringify(body);
  socket.write(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
}

/**
 * Fastify's `clientErrorHandler`: requests Node refuses before Fastify sees them — a request or its
 * headers not received in time (408), headers too large (431), bytes that are not HTTP (400, e.g.
 * a NUL in the URL or a header) — answered in Flamingo's error shape, and the connection closed.
 */
export function clientErrorHandler(this: FastifyInstance, error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    answerOnSocket(socket, 408, 'Request Timeout', { error: 'request_timeout', message: 'the request (headers and body) was not received in time' });
  } else if (error.code === 'HPE_HEADER_OVERFLOW') {
    answerOnSocket(socket, 431, 'Request Header Fields Too Large', { error: 'headers_too_large', message: 'the request headers are too large' });
  } else {
    answerOnSocket(socket, 400, 'Bad Request', { error: 'bad_request', message: `the request is not valid HTTP/1.1 (${error.code ?? 'unreadable'})` });
  }
  this.log.debug({ err: error }, 'client error');
  socket.destroy(error);
}

/** Sets the connection limit: Node closes a connection beyond it at once. */
export function limitConnections(app: FastifyInstance, settings: HttpSettings): void {
  app.server.maxConnections = settings.maxConnections;
}

/**
 * Registers `@fastify/rate-limit` for the routes that opt in with `config.clientRateLimit`; must be
 * called before those routes are registered. Counts live in this process (each process of a
 * scale-out counts its own clients).
 */
export async function registerRateLimits(app: FastifyInstance, settings: HttpSettings): Promise<void> {
  const maxima: Record<ClientRateLimit, number> = { keyless: settings.keylessRateLimit, login: settings.loginRateLimit };
  // Added before the plugin's own onRoute hook, so the plugin finds the numbers in `config.rateLimit`.
  app.addHook('onRoute', (route) => {
    const name = route.config?.clientRateLimit;
    if (name === undefined || maxima[name] === 0) return;
    route.config = { ...route.config, rateLimit: { max: maxima[name], timeWindow: settings.rateLimitWindowMs, groupId: name } };
  });
  await app.register(fastifyRateLimit, {
    global: false,
    errorResponseBuilder: (request, context) =>
      new ApiError(
        429,
        'rate_limited',
        `too many requests to ${request.method} ${request.routeOptions.url ?? request.url} from this client (at most ${context.max} in ${settings.rateLimitWindowMs / 1000} s); retry in ${context.after}`,
      ),
  });
}
