import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFlamingo, type RunningFlamingo, type StartOptions } from '../../src/app/flamingo.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { createJsonClient } from '../../src/platform/http-client.ts';
import { dropSchemas, uniqueName } from './service-databases.ts';

export interface TestServer {
  readonly url: string;
  readonly adminKey: string;
  readonly dataDir: string;
  readonly flamingo: RunningFlamingo;
  /** fetch against the server; `key` sends `Authorization: Bearer <key>` (default: the admin key; `null` for none). */
  request(method: string, route: string, options?: RequestOptions): Promise<TestResponse>;
  /** How many events the log holds (via `GET /v1/events`). */
  eventCount(): Promise<number>;
  /**
   * A new producer key scoped to `producer` (`orders`, `webshop`, …; `null`: none) and `types`
   * (Default: `*`), made with the admin key: what publishes a service's types over HTTP (issue 7).
   */
  producerKey(producer: string | null, types?: readonly string[]): Promise<string>;
  stop(): Promise<void>;
}

export interface RequestOptions {
  /** Sent as is when a string or Buffer; JSON-encoded otherwise. */
  readonly body?: unknown;
  readonly contentType?: string | null;
  readonly key?: string | null;
  readonly headers?: Record<string, string>;
}

export interface TestResponse {
  readonly status: number;
  readonly headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test bodies are asserted field by field
  readonly body: any;
  readonly text: string;
}

/**
 * Starts Flamingo in this process on a random loopback port with a fresh data dir (real SQLite),
 * no services unless given.
 */
export async function startTestServer(env: Record<string, string> = {}, options: StartOptions = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'flamingo-e2e-'));
  const config = loadConfig({ FLAMINGO_DATA_DIR: dataDir, HOST: '127.0.0.1', LOG_LEVEL: 'silent', ...env }, dataDir);
  // On a PostgreSQL shared by test runs (and branches), each run keeps its keys and revocations in a schema of its own.
  const platformDatabase = config.databaseUrl === undefined ? undefined : (options.platformDatabase ?? uniqueName('flamingo'));
  const flamingo = await startFlamingo({ ...config, port: 0 }, { registry: [], ...options, ...(platformDatabase ? { platformDatabase } : {}) });
  const adminKey = flamingo.adminKey.value;

  const client = createJsonClient({ url: flamingo.url, bearer: adminKey });
  const request: TestServer['request'] = (method, route, options = {}) =>
    client.request(method, route, { body: options.body, contentType: options.contentType, bearer: options.key, headers: options.headers });

  return {
    url: flamingo.url,
    adminKey,
    dataDir,
    flamingo,
    request,
    async eventCount() {
      let count = 0;
      let after = 0;
      for (;;) {
        const page = await request('GET', `/v1/events?limit=1000&afterSequence=${after}`);
        if (page.status !== 200) throw new Error(`GET /v1/events answered ${page.status}: ${page.text}`);
        count += page.body.events.length;
        if (page.body.next === null) return count;
        after = page.body.next;
      }
    },
    async producerKey(producer, types) {
      const body = { ...(producer === null ? {} : { producer }), ...(types === undefined ? (producer === null ? { types: ['*'] } : {}) : { types }) };
      const created = await request('POST', '/v1/keys', { body });
      if (created.status !== 201) throw new Error(`POST /v1/keys answered ${created.status}: ${created.text}`);
      return created.body.key as string;
    },
    async stop() {
      await flamingo.close();
      if (platformDatabase && config.databaseUrl) await dropSchemas({ dataDir, databaseUrl: config.databaseUrl }, [platformDatabase]);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
