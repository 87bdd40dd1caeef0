/**
 * The one fetch-based JSON client of Flamingo's own callers of its HTTP API: the CLI, the traffic
 * simulator and the tests. Hand-written because it is a dozen lines over Node's `fetch` (undici):
 * what it adds is only our conventions — `Authorization: Bearer`, JSON in, JSON (or nothing) out,
 * and the answer whatever its status, so each caller decides what a 4xx means to it.
 */

export interface JsonRequest {
  /** Sent as is when a string or Buffer; JSON-encoded otherwise. (Default: no body) */
  readonly body?: unknown;
  /** The body's media type; `null` sends none. (Default: `application/json` when there is a body) */
  readonly contentType?: string | null;
  /** `Authorization: Bearer <bearer>`; `null` sends none. (Default: the client's `bearer`) */
  readonly bearer?: string | null;
  readonly headers?: Readonly<Record<string, string>>;
  /** Gives up after this long (a `TimeoutError`). (Default: the client's `timeoutMs`, else none) */
  readonly timeoutMs?: number;
}

export interface JsonAnswer<T = unknown> {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: Headers;
  /** The body parsed as JSON; `undefined` when empty or not JSON. */
  readonly body: T | undefined;
  readonly text: string;
}

export interface JsonClientOptions {
  /** The server, `http://host:port` (a trailing `/` is dropped). */
  readonly url: string;
  /** Sent as `Authorization: Bearer <bearer>` unless a request says otherwise. */
  readonly bearer?: string;
  readonly timeoutMs?: number;
}

export interface JsonClient {
  readonly url: string;
  /** Sends one request; throws only when no answer came (unreachable, timeout). */
  request<T = unknown>(method: string, route: string, request?: JsonRequest): Promise<JsonAnswer<T>>;
}

export function createJsonClient(options: JsonClientOptions): JsonClient {
  const url = options.url.replace(/\/+$/, '');
  return {
    url,
    async request<T>(method: string, route: string, request: JsonRequest = {}) {
      const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
      const bearer = request.bearer === undefined ? options.bearer : request.bearer;
      if (bearer) headers.authorization = `Bearer ${bearer}`;
      let body: string | Buffer | undefined;
      if (request.body !== undefined) {
        body = typeof request.body === 'string' || Buffer.isBuffer(request.body) ? request.body : JSON.stringify(request.body);
        const type = request.contentType === undefined ? 'application/json' : request.contentType;
        // fetch labels a string text/plain; bytes go without a Content-Type.
        if (type !== null) headers['content-type'] = type;
        else body = Buffer.from(body);
      }
      const timeoutMs = request.timeoutMs ?? options.timeoutMs;
      const response = await fetch(`${url}${route}`, { method, headers, body, ...(timeoutMs === undefined ? {} : { signal: AbortSignal.timeout(timeoutMs) }) });
      const text = await response.text();
      let parsed: T | undefined;
      try {
        parsed = text ? (JSON.parse(text) as T) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: response.status, ok: response.ok, headers: response.headers, body: parsed, text };
    },
  };
}
