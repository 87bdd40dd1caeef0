/**
 * Issue 7 item 11, authentication before validation: every route that needs credentials answers an
 * anonymous request 401 before its body, parameters or query are looked at — never a 400 that
 * describes its schema. The routes come from the server's own OpenAPI document, so a route added
 * later is covered without touching this test; and a route cannot be registered without declaring
 * who may call it.
 */
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGuard, keyStore, openPlatformDatabase, revocationStore } from '../src/platform/auth/index.ts';
import { createTokens } from '../src/platform/tokens.ts';
import { services } from '../src/services/index.ts';
import { concretePath, documentedRoutes, hasBody, needsCredentials, type DocumentedRoute } from './support/routes.ts';
import { startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
let routes: DocumentedRoute[];
beforeAll(async () => {
  server = await startTestServer({}, { registry: services });
  routes = await documentedRoutes(server.url);
});
afterAll(() => server?.stop());

/** A request no schema accepts: malformed JSON in the body, query parameters out of range or of the wrong type. */
async function malformed(route: DocumentedRoute, authorization?: string) {
  const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
  let body: string | undefined;
  if (hasBody(route.method)) {
    headers['content-type'] = 'application/json';
    body = '{"not json": ';
  }
  const url = `${server.url}${concretePath(route.path)}?limit=-5&afterSequence=soon`;
  const response = await fetch(url, { method: route.method, headers, body });
  const text = await response.text();
  return { status: response.status, text, body: text ? (JSON.parse(text) as { error?: string; message?: string; detail?: unknown }) : undefined };
}

describe('authentication comes before validation (issue 7 item 11)', () => {
  it('covers the routes the issue names', () => {
    const named = routes.filter(needsCredentials).map((r) => `${r.method} ${r.path}`);
    expect(named).toEqual(
      expect.arrayContaining([
        'POST /v1/keys',
        'POST /v1/users/{id}/ban',
        'POST /v1/products',
        'POST /v1/products/{id}/stock',
        'POST /v1/subscriptions/{name}/rewind',
        'POST /v1/events',
        'POST /v1/orders',
        'POST /v1/products/{id}/reviews',
        'GET /v1/users/me',
      ]),
    );
  });

  it('every route that needs credentials answers an anonymous malformed request 401, with no schema in the answer', async () => {
    const answers = [];
    for (const route of routes.filter(needsCredentials)) {
      const answer = await malformed(route);
      answers.push({ route: `${route.method} ${route.path}`, status: answer.status, error: answer.body?.error, detail: answer.body?.detail });
    }
    expect(answers.length).toBeGreaterThan(25);
    expect(answers.filter((a) => a.status !== 401 || a.error !== 'unauthorized' || a.detail !== undefined)).toEqual([]);
  });

  it('every route that looks at credentials at all refuses invalid ones with 401 before the body', async () => {
    const answers = [];
    for (const route of routes.filter((r) => r.security.length > 0)) {
      const answer = await malformed(route, 'Bearer not-a-key-nor-a-token');
      answers.push({ route: `${route.method} ${route.path}`, status: answer.status, error: answer.body?.error });
    }
    expect(answers.filter((a) => a.status !== 401 || a.error !== 'unauthorized')).toEqual([]);
  });

  it('a route that does not declare who may call it cannot be registered', async () => {
    const app = Fastify();
    const platform = await openPlatformDatabase({ dataDir: server.dataDir }, 'guard_check');
    try {
      createGuard(app, {
        adminKey: 'an-admin-key-of-some-length',
        keys: keyStore(platform.db),
        tokens: createTokens('a-token-secret-of-at-least-32-bytes!'),
        revocations: revocationStore(platform.db),
      });
      expect(() => app.post('/v1/forgotten', async () => ({}))).toThrow(/POST \/v1\/forgotten: declare who may call it with config\.auth/);
      expect(() => app.get('/v1/declared', { config: { auth: 'admin' } }, async () => ({}))).not.toThrow();
    } finally {
      await app.close();
      await platform.close();
    }
  });
});
