import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createJsonClient, type JsonAnswer } from '../../platform/http-client.ts';

/** Where the CLI reaches a running Flamingo and with which key. */
export interface ClientOptions {
  /** (Default: `FLAMINGO_URL` or `http://127.0.0.1:<PORT or 3000>`) */
  readonly url?: string;
  /** (Default: `FLAMINGO_KEY`, then `FLAMINGO_ADMIN_KEY`, then `<FLAMINGO_DATA_DIR or ./data>/admin.key`) */
  readonly key?: string;
}

/** An HTTP answer that was not 2xx, with the server's error body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: { error?: string; message?: string; detail?: { path: string; message: string }[] } | undefined,
  ) {
    super(`${status} ${body?.error ?? ''}${body?.message ? `: ${body.message}` : ''}`.trim());
    this.name = 'HttpError';
  }

  /** One line for the status, one per problem. */
  lines(): string[] {
    return [this.message, ...(this.body?.detail ?? []).map((d) => `  ${d.path}: ${d.message}`)];
  }
}

export function defaultUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.FLAMINGO_URL || `http://127.0.0.1:${env.PORT || 3000}`;
}

/** The key to send: given, from the environment, or the admin key file of the local data dir. */
export function resolveKey(given: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const key = given || env.FLAMINGO_KEY || env.FLAMINGO_ADMIN_KEY;
  if (key) return key;
  try {
    return readFileSync(path.join(path.resolve(env.FLAMINGO_DATA_DIR || './data'), 'admin.key'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

export interface Client {
  readonly url: string;
  request<T>(method: string, route: string, options?: { body?: unknown; contentType?: string }): Promise<T>;
}

/** The CLI's client of the admin and collector API: a 2xx's body, else `HttpError`. */
export function createClient(options: ClientOptions = {}): Client {
  const json = createJsonClient({ url: options.url || defaultUrl(), bearer: resolveKey(options.key) });
  const url = json.url;
  return {
    url,
    async request<T>(method: string, route: string, request: { body?: unknown; contentType?: string } = {}) {
      let answer: JsonAnswer<T>;
      try {
        answer = await json.request<T>(method, route, request);
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause;
        throw new Error(`cannot reach Flamingo at ${url} (${cause?.code ?? (error as Error).message}); is \`flamingo start\` running? (--url, FLAMINGO_URL)`, {
          cause: error,
        });
      }
      if (!answer.ok) throw new HttpError(answer.status, answer.body as HttpError['body']);
      return answer.body as T;
    },
  };
}
