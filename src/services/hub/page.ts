/**
 * Serves the customer hub page (`web/account/`) at `/account`: three files read once at start,
 * sent with a strict Content-Security-Policy (scripts, styles and connections to this origin only).
 * Kept to these fixed paths, so no request path ever reaches the file system.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

const WEB = new URL('../../../web/account/', import.meta.url);

const FILES = [
  { route: '/account', file: 'index.html', type: 'text/html; charset=utf-8' },
  { route: '/account/app.js', file: 'app.js', type: 'text/javascript; charset=utf-8' },
  { route: '/account/style.css', file: 'style.css', type: 'text/css; charset=utf-8' },
] as const;

const HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

export function registerAccountPage(http: FastifyInstance): void {
  for (const { route, file, type } of FILES) {
    const body = readFileSync(new URL(file, WEB));
    http.get(route, { config: { auth: 'public' }, schema: { hide: true } }, async (_request, reply) => reply.headers({ ...HEADERS, 'content-type': type }).send(body));
  }
}
