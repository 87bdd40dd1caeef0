/**
 * A Shopify-like target for tests and the bench: a real HTTP server on loopback that enforces the
 * shop platform's leaky bucket (https://shopify.dev/docs/api/usage/rate-limits): a bucket of
 * `bucketSize` calls that leaks `leakPerSecond`; a call that does not fit is answered 429 with
 * `Retry-After` (seconds) and `X-Shopify-Shop-Api-Call-Limit: used/size`, and does not enter the
 * bucket. The GraphQL variant answers HTTP 200 with `errors[].extensions.code = "THROTTLED"` and
 * `extensions.cost.throttleStatus` instead, as the Admin GraphQL API does.
 *
 * It can inject failures at a ratio: 500s, replies slower than the client's timeout, dropped
 * connections. It records every request (headers and raw body, for signature checks) and what a
 * misbehaving client would do: requests arriving while the bucket is full and requests arriving
 * before a Retry-After it was given expired.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ShopifyTargetOptions {
  /** Calls the bucket holds (Shopify REST: 40; Plus: 400). (Default: 40) */
  readonly bucketSize?: number;
  /** Calls leaked per second (Shopify REST: 2). */
  readonly leakPerSecond: number;
  /** `rest` answers 429; `graphql` answers 200 with a THROTTLED error in the body. (Default: 'rest') */
  readonly variant?: 'rest' | 'graphql';
  /** Share of admitted calls answered 500. (Default: 0) */
  readonly serverErrorRatio?: number;
  /** Share of admitted calls answered only after `slowMs`. (Default: 0) */
  readonly slowRatio?: number;
  /** How late a slow reply comes. (Default: 6 000 ms, past the default 5 s timeout) */
  readonly slowMs?: number;
  /** Share of admitted calls whose connection is destroyed without a reply. (Default: 0) */
  readonly dropRatio?: number;
  /** Status of an admitted call that is not failed on purpose. (Default: 200) */
  readonly successStatus?: number;
  /**
   * A request that arrives less than this after a throttled reply was sent may have been on its
   * way already: it is not counted as ignoring the Retry-After. (Default: 250 ms)
   */
  readonly graceMs?: number;
  /** (Default: Math.random) */
  readonly random?: () => number;
}

export interface ReceivedRequest {
  /** Arrival, ms since the epoch. */
  readonly at: number;
  /** Arrival on this process's monotonic clock (`performance.now()`), for latencies. */
  readonly atMs: number;
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** What the target did: a status, or `dropped`. */
  readonly answer: number | 'dropped' | 'throttled';
}

export interface ShopifyTargetStats {
  readonly requests: number;
  /** Requests refused because the bucket was full (429 or THROTTLED). */
  readonly throttled: number;
  /** Requests that arrived before a Retry-After (or GraphQL restore time) given earlier expired. */
  readonly early: number;
  /** The highest the bucket was ever filled, in calls; never above `bucketSize`. */
  readonly maxFill: number;
  readonly serverErrors: number;
  readonly slow: number;
  readonly dropped: number;
}

export interface ShopifyTarget {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly requests: readonly ReceivedRequest[];
  /** `webhook-id` of every request answered with success (not throttled, not failed on purpose). */
  readonly delivered: ReadonlySet<string>;
  stats(): ShopifyTargetStats;
  /** Changes failure injection while running (e.g. to stop failing). */
  configure(options: Partial<Pick<ShopifyTargetOptions, 'serverErrorRatio' | 'slowRatio' | 'dropRatio' | 'successStatus'>>): void;
  close(): Promise<void>;
}

const MAX_BODY = 1024 * 1024;

/** Starts the target on 127.0.0.1 (a free port unless `port` is given). */
export async function startShopifyTarget(options: ShopifyTargetOptions, port = 0): Promise<ShopifyTarget> {
  const size = options.bucketSize ?? 40;
  const leak = options.leakPerSecond;
  const variant = options.variant ?? 'rest';
  const random = options.random ?? Math.random;
  const grace = options.graceMs ?? 250;
  const injected = {
    serverErrorRatio: options.serverErrorRatio ?? 0,
    slowRatio: options.slowRatio ?? 0,
    dropRatio: options.dropRatio ?? 0,
    successStatus: options.successStatus ?? 200,
  };
  const slowMs = options.slowMs ?? 6_000;
  const requests: ReceivedRequest[] = [];
  const delivered = new Set<string>();
  const counts = { throttled: 0, early: 0, maxFill: 0, serverErrors: 0, slow: 0, dropped: 0 };
  let fill = 0;
  let leakedAt = performance.now();
  /** Until when the last throttled reply told the client to wait, and when that reply was sent. */
  let retryUntil = 0;
  let throttledAt = 0;

  const level = (now: number) => {
    fill = Math.max(0, fill - ((now - leakedAt) / 1000) * leak);
    leakedAt = now;
    return fill;
  };

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    let length = 0;
    request.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length <= MAX_BODY) chunks.push(chunk);
    });
    request.on('end', () => {
      const now = performance.now();
      const body = Buffer.concat(chunks).toString('utf8');
      const record = (answer: ReceivedRequest['answer']) =>
        requests.push({ at: Date.now(), atMs: now, method: request.method ?? '', path: request.url ?? '', headers: request.headers, body, answer });
      if (now < retryUntil && now > throttledAt + grace) counts.early += 1;
      const used = level(now);
      if (used + 1 > size) {
        counts.throttled += 1;
        const waitS = (used + 1 - size) / leak;
        // REST tells whole seconds (rounded up); GraphQL gives the restore rate, so the exact time.
        retryUntil = now + (variant === 'rest' ? Math.ceil(waitS) : waitS) * 1000;
        throttledAt = now;
        record('throttled');
        const limit = `${Math.ceil(used)}/${size}`;
        if (variant === 'graphql') {
          const throttleStatus = { maximumAvailable: size, currentlyAvailable: Math.max(0, Math.floor(size - used)), restoreRate: leak };
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end(
            JSON.stringify({
              errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED', documentation: 'https://shopify.dev/api/usage/rate-limits' } }],
              extensions: { cost: { requestedQueryCost: 1, actualQueryCost: null, throttleStatus } },
            }),
          );
        } else {
          // Shopify sends whole seconds with one decimal ("2.0"); rounding up keeps the client honest.
          response.writeHead(429, { 'content-type': 'application/json', 'retry-after': `${Math.ceil(waitS)}.0`, 'x-shopify-shop-api-call-limit': limit });
          response.end(JSON.stringify({ errors: 'Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.' }));
        }
        return;
      }
      fill = used + 1;
      counts.maxFill = Math.max(counts.maxFill, fill);
      const limitHeader = { 'x-shopify-shop-api-call-limit': `${Math.ceil(fill)}/${size}` };
      const roll = random();
      if (roll < injected.dropRatio) {
        counts.dropped += 1;
        record('dropped');
        request.socket.destroy();
        return;
      }
      if (roll < injected.dropRatio + injected.serverErrorRatio) {
        counts.serverErrors += 1;
        record(500);
        response.writeHead(500, { 'content-type': 'application/json', ...limitHeader });
        response.end('{"errors":"Internal Server Error"}');
        return;
      }
      const id = request.headers['webhook-id'];
      const succeed = () => {
        const status = injected.successStatus;
        record(status);
        if (typeof id === 'string' && status < 300) delivered.add(id);
        response.writeHead(status, { 'content-type': 'application/json', ...limitHeader });
        const cost = { requestedQueryCost: 1, actualQueryCost: 1, throttleStatus: { maximumAvailable: size, currentlyAvailable: Math.floor(size - fill), restoreRate: leak } };
        response.end(variant === 'graphql' ? JSON.stringify({ data: { ok: true }, extensions: { cost } }) : '{"ok":true}');
      };
      if (roll < injected.dropRatio + injected.serverErrorRatio + injected.slowRatio) {
        counts.slow += 1;
        const timer = setTimeout(() => {
          // A client that gave up has closed the connection: its late success is not a delivery it saw.
          if (!request.socket.destroyed) succeed();
        }, slowMs);
        request.socket.once('close', () => clearTimeout(timer));
        return;
      }
      succeed();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    delivered,
    stats: () => ({ requests: requests.length, ...counts, maxFill: Math.round(counts.maxFill * 1000) / 1000 }),
    configure(changes) {
      Object.assign(injected, changes);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
