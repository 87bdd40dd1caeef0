/**
 * A running Flamingo (HTTP on loopback, SQLite bus in a temp dir) with the services under test, their
 * databases on SQLite or on the PostgreSQL at 127.0.0.1 — use with `describe.each(DIALECTS)`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceDefinition } from '../../src/services/service.ts';
import type { Dialect } from '../../src/platform/db.ts';
import { createTokens, type Tokens } from '../../src/platform/tokens.ts';
import { startTestServer, type TestServer } from './server.ts';
import { dropSchemas, TEST_DATABASE_URL } from './service-databases.ts';

export interface StoredEvent {
  id: string;
  type: string;
  sequence: number;
  subject?: string;
  correlationid?: string;
  causationid?: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test data is asserted field by field
  data: any;
}

export interface ServiceServer extends TestServer {
  /** Signs customer session tokens the server accepts. */
  readonly tokens: Tokens;
  /** Every stored event of these types (or patterns), in log order. */
  events(types: string): Promise<StoredEvent[]>;
  /** Polls until `predicate` holds for the events of `types`; throws with what was seen after `timeoutMs`. */
  waitForEvents(types: string, predicate: (events: StoredEvent[]) => boolean, timeoutMs?: number): Promise<StoredEvent[]>;
  /** Waits until `subscription` has handled everything in the log up to now (after a rewind, say). */
  drained(subscription: string, timeoutMs?: number): Promise<void>;
  /** Stops the server and drops the PostgreSQL schemas named. */
  stopAndDrop(schemas: readonly string[]): Promise<void>;
}

export async function startServiceServer(dialect: Dialect, services: readonly ServiceDefinition[], extraEnv: Record<string, string> = {}): Promise<ServiceServer> {
  const secret = `test-secret-${Math.random().toString(36).slice(2)}-0123456789abcdef`;
  const env: Record<string, string> = { FLAMINGO_TOKEN_SECRET: secret, ...(dialect === 'postgres' ? { DATABASE_URL: TEST_DATABASE_URL } : {}), ...extraEnv };
  const server = await startTestServer(env, { registry: [...services] });
  const events = async (types: string) => {
    const all: StoredEvent[] = [];
    let after = 0;
    for (;;) {
      const page = await server.request('GET', `/v1/events?type=${encodeURIComponent(types)}&limit=1000&afterSequence=${after}`);
      if (page.status !== 200) throw new Error(`GET /v1/events answered ${page.status}: ${page.text}`);
      all.push(...(page.body.events as StoredEvent[]));
      if (page.body.next === null) return all;
      after = page.body.next;
    }
  };
  return {
    ...server,
    tokens: createTokens(secret),
    events,
    async waitForEvents(types, predicate, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const seen = await events(types);
        if (predicate(seen)) return seen;
        if (Date.now() > until) throw new Error(`timed out waiting for ${types}; saw ${JSON.stringify(seen.map((e) => [e.type, e.data]))}`);
        await sleep(25);
      }
    },
    async drained(subscription, timeoutMs = 10_000) {
      const { bus } = server.flamingo;
      const head = await bus.engine.head();
      const until = Date.now() + timeoutMs;
      for (;;) {
        const info = (await bus.subscriptions()).find((s) => s.name === subscription);
        if (info && info.position >= head && info.inFlight === 0 && info.retrying === 0) return;
        if (Date.now() > until) throw new Error(`timed out waiting for ${subscription} to drain: ${JSON.stringify(info)}`);
        await sleep(25);
      }
    },
    async stopAndDrop(schemas) {
      await server.stop();
      if (dialect === 'postgres') await dropSchemas({ dataDir: server.dataDir, databaseUrl: TEST_DATABASE_URL }, schemas);
    },
  };
}

/** Polls `check` until it returns something other than undefined; throws after `timeoutMs`. */
export async function waitUntil<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
