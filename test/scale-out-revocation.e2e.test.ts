/**
 * Issue 7 item 3 on the scale-out stack: two whole-shop processes on one NATS JetStream stream and
 * one PostgreSQL database. A customer banned through one process is refused by every customer route
 * of the other within 1 s (the revocation list is in the shared platform database, fed by
 * `user.banned`); the unban restores the token there within 1 s too. The customer's live streams end
 * on both processes, though only one of them handles `hub.bans` (a consumer group).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { callRoute, documentedRoutes, refusedAsBanned, takesCustomerToken, type DocumentedRoute, type RouteAnswer } from './support/routes.ts';
import { adminApi, labelled, showOutputOnFailure, startFlamingoProcess, useScaleOutRun } from './support/scale-out.ts';

const ADMIN_KEY = 'scale-out-revocation-admin-key-0123456789';
const TOKEN_SECRET = 'scale-out-revocation-token-secret-0123456789abcdef';

const scaleOut = useScaleOutRun();
const { processes } = scaleOut;

/** Opens `GET /v1/me/stream` on `url`; `ended` resolves (with ms since `openedAt`) when the server ends it. */
async function openStream(url: string, token: string) {
  const response = await fetch(`${url}/v1/me/stream`, { headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` } });
  expect(response.status).toBe(200);
  const reader = response.body!.getReader();
  const ended = (async () => {
    while (!(await reader.read()).done);
    return Date.now();
  })();
  return { ended, cancel: () => reader.cancel().catch(() => undefined) };
}

/** Calls every route on `url` until `done` holds for all of them; the answers and when they all did. */
async function everyRoute(url: string, routes: readonly DocumentedRoute[], token: string, done: (answer: RouteAnswer) => boolean, timeoutMs = 5_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const answers = await Promise.all(routes.map((route) => callRoute(url, route, token)));
    if (answers.every(done) || Date.now() > until) return { answers, at: Date.now() };
    await sleep(20);
  }
}

it('a ban through one process refuses the token on every customer route of the other within 1 s; the unban restores it', { timeout: 90_000 }, async () => {
  showOutputOnFailure(processes);
  const env = (name: string) => ({
    ...scaleOut.run.env,
    DATABASE_URL: labelled(scaleOut.run.databaseUrl!, name),
    FLAMINGO_ADMIN_KEY: ADMIN_KEY,
    FLAMINGO_TOKEN_SECRET: TOKEN_SECRET,
    LOG_LEVEL: 'warn',
  });
  processes.push(...(await Promise.all(['revoke-a', 'revoke-b'].map((name) => startFlamingoProcess(name, ['start'], env(name))))));
  const [a, b] = processes;
  const adminA = adminApi(a.url, ADMIN_KEY);
  const routes = (await documentedRoutes(b.url)).filter(takesCustomerToken);
  expect(routes.length).toBeGreaterThanOrEqual(12);

  const user = await adminA.call('POST', '/v1/users', { email: 'mallory@example.com', name: 'Mallory', password: 'a good password' });
  expect(user.status).toBe(201);
  const token = (await adminA.call('POST', '/v1/auth/login', { email: 'mallory@example.com', password: 'a good password' })).body.token as string;
  const before = await everyRoute(b.url, routes, token, (answer) => !refusedAsBanned(answer), 0);
  expect(before.answers.filter(refusedAsBanned)).toEqual([]);
  const streams = await Promise.all([openStream(a.url, token), openStream(b.url, token)]);

  expect((await adminA.call('POST', `/v1/users/${user.body.id}/ban`, { reason: 'fraud' })).status).toBe(200);
  const bannedAt = Date.now();
  const banned = await everyRoute(b.url, routes, token, refusedAsBanned);
  expect(banned.answers.filter((answer) => !refusedAsBanned(answer))).toEqual([]);
  expect(banned.at - bannedAt).toBeLessThan(1_000);
  // Each process's open stream checks its credentials again within a second (platform/sse.ts).
  const endedAt = await Promise.race([Promise.all(streams.map((s) => s.ended)), sleep(5_000).then(() => undefined)]);
  streams.forEach((s) => void s.cancel());
  expect(endedAt, 'both live streams ended after the ban').toBeDefined();
  for (const at of endedAt!) expect(at - bannedAt).toBeLessThan(2_500);

  expect((await adminA.call('POST', `/v1/users/${user.body.id}/unban`)).status).toBe(200);
  const unbannedAt = Date.now();
  const restored = await everyRoute(b.url, routes, token, (answer) => !refusedAsBanned(answer));
  expect(restored.answers.filter(refusedAsBanned)).toEqual([]);
  expect(restored.at - unbannedAt).toBeLessThan(1_000);
  console.log(`revocation (NATS + PostgreSQL, two processes): refused on the other process ${banned.at - bannedAt} ms after the ban, live streams ended after ${endedAt!.map((at) => at - bannedAt).join(' and ')} ms, accepted ${restored.at - unbannedAt} ms after the unban`);
});
