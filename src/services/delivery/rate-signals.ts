/**
 * What a target's reply says about its rate limit, so the limiter learns from it:
 * - `Retry-After` (RFC 9110 §10.2.3: delay-seconds or an HTTP-date);
 * - the shop platform's bucket, `X-Shopify-Shop-Api-Call-Limit: used/size`;
 * - the IETF headers (draft-ietf-httpapi-ratelimit-headers): `RateLimit: "name";r=0;t=30` (or the
 *   older `limit=…, remaining=…, reset=…`, or `RateLimit-Remaining` / `RateLimit-Reset`), with
 *   `RateLimit-Policy` giving the quota;
 * - the common `X-RateLimit-Remaining` / `X-RateLimit-Reset` (reset as seconds from now, or a Unix
 *   time in seconds or milliseconds);
 * - a GraphQL reply that is HTTP 200 but carries `errors[].extensions.code = "THROTTLED"` and
 *   `extensions.cost.throttleStatus` (the shop platform's Admin GraphQL API); every GraphQL reply's
 *   `throttleStatus.restoreRate` and query cost, and `RateLimit-Policy`, also tell the target's pace.
 */

export interface RateSignals {
  /** 429 or a GraphQL THROTTLED: back-pressure for the whole target, not a failed attempt. */
  readonly throttled: boolean;
  /** No request before this instant (ms since the epoch), when the reply says so. */
  readonly retryAt?: number;
  /** Why `retryAt` was set (for the target's visible state). */
  readonly reason?: string;
  /** The target's bucket, when it tells it. */
  readonly bucket?: { readonly used: number; readonly size: number };
  /** The target's pace, ms per request, when it tells it (GraphQL restore rate and cost, `RateLimit-Policy`). */
  readonly paceMs?: number;
}

export type HeaderValue = string | string[] | undefined;
export type ResponseHeaders = Readonly<Record<string, HeaderValue>>;

function header(headers: ResponseHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** `Retry-After` as an instant (ms since the epoch), or undefined when absent or malformed. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return now + Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(now, date);
}

/** A reset value: seconds from now, or a Unix time in seconds (> 10⁹) or milliseconds (> 10¹²). */
function resetInstant(value: number, now: number): number {
  if (value > 1e12) return value;
  if (value > 1e9) return value * 1000;
  return now + value * 1000;
}

function numberParam(text: string, name: string): number | undefined {
  const match = new RegExp(`(?:^|[;,\\s])${name}=(\\d+(?:\\.\\d+)?)`).exec(text);
  return match ? Number(match[1]) : undefined;
}

/** Remaining requests and reset instant from the IETF or the `X-RateLimit-*` headers. */
function quota(headers: ResponseHeaders, now: number): { remaining: number; resetAt?: number; source: string } | undefined {
  const combined = header(headers, 'ratelimit');
  if (combined !== undefined) {
    const remaining = numberParam(combined, 'r') ?? numberParam(combined, 'remaining');
    const reset = numberParam(combined, 't') ?? numberParam(combined, 'reset');
    if (remaining !== undefined) return { remaining, resetAt: reset === undefined ? undefined : now + reset * 1000, source: 'RateLimit' };
  }
  for (const prefix of ['ratelimit', 'x-ratelimit']) {
    const remaining = Number(header(headers, `${prefix}-remaining`));
    const reset = Number(header(headers, `${prefix}-reset`));
    if (header(headers, `${prefix}-remaining`) !== undefined && Number.isFinite(remaining)) {
      return {
        remaining,
        resetAt: header(headers, `${prefix}-reset`) !== undefined && Number.isFinite(reset) ? resetInstant(reset, now) : undefined,
        source: prefix === 'ratelimit' ? 'RateLimit-Remaining' : 'X-RateLimit-Remaining',
      };
    }
  }
  return undefined;
}

interface ThrottleStatus {
  readonly currentlyAvailable: number;
  readonly restoreRate: number;
  readonly maximumAvailable?: number;
}

/** A GraphQL body's throttling: whether it is THROTTLED, and when the requested cost is available again. */
function graphqlThrottle(body: string, now: number): { throttled: boolean; retryAt?: number; bucket?: RateSignals['bucket']; paceMs?: number } | undefined {
  if (!body.startsWith('{') || !body.includes('extensions')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const reply = parsed as { errors?: unknown; extensions?: { cost?: { requestedQueryCost?: unknown; throttleStatus?: Partial<ThrottleStatus> } } };
  const throttled = Array.isArray(reply.errors) && reply.errors.some((e) => (e as { extensions?: { code?: unknown } } | null)?.extensions?.code === 'THROTTLED');
  const cost = reply.extensions?.cost;
  const status = cost?.throttleStatus;
  const available = Number(status?.currentlyAvailable);
  const restore = Number(status?.restoreRate);
  const maximum = Number(status?.maximumAvailable);
  const bucket = Number.isFinite(available) && Number.isFinite(maximum) && maximum > 0 ? { used: Math.max(0, maximum - available), size: maximum } : undefined;
  const requested = Number(cost?.requestedQueryCost);
  // A request costs what it asked for; the bucket restores `restoreRate` points a second.
  const paceMs = Number.isFinite(restore) && restore > 0 ? ((Number.isFinite(requested) && requested > 0 ? requested : 1) / restore) * 1000 : undefined;
  if (!throttled) return { throttled, bucket, paceMs };
  const retryAt =
    Number.isFinite(available) && Number.isFinite(restore) && restore > 0
      ? now + (Math.max(0, (Number.isFinite(requested) ? requested : 1) - available) / restore) * 1000
      : undefined;
  return { throttled, retryAt, bucket, paceMs };
}

/** `RateLimit-Policy: "default";q=100;w=60` (or the older `100;w=60`): ms per request. */
function policyPace(headers: ResponseHeaders): number | undefined {
  const policy = header(headers, 'ratelimit-policy');
  if (policy === undefined) return undefined;
  const quota = numberParam(policy, 'q') ?? Number(/^\s*(\d+)/.exec(policy)?.[1]);
  const window = numberParam(policy, 'w');
  return quota > 0 && window !== undefined && window > 0 ? (window * 1000) / quota : undefined;
}

/** Reads a reply's rate-limit signals; `body` may be cut short (a throttled GraphQL reply is small). */
export function readRateSignals(status: number, headers: ResponseHeaders, body: string, now: number): RateSignals {
  const retryAfter = parseRetryAfter(header(headers, 'retry-after'), now);
  const shopify = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(header(headers, 'x-shopify-shop-api-call-limit') ?? '');
  let bucket: RateSignals['bucket'] = shopify ? { used: Number(shopify[1]), size: Number(shopify[2]) } : undefined;
  const graphql = status >= 200 && status < 300 ? graphqlThrottle(body, now) : undefined;
  bucket ??= graphql?.bucket;
  const throttled = status === 429 || graphql?.throttled === true;
  const limited = quota(headers, now);
  const paceMs = graphql?.paceMs ?? policyPace(headers);
  const known = { bucket, ...(paceMs === undefined ? {} : { paceMs }) };

  if (retryAfter !== undefined && (throttled || status === 503)) return { throttled, retryAt: retryAfter, reason: `Retry-After (${status})`, ...known };
  if (graphql?.throttled && graphql.retryAt !== undefined) return { throttled, retryAt: graphql.retryAt, reason: 'GraphQL THROTTLED', ...known };
  if (limited && limited.remaining <= 0 && limited.resetAt !== undefined) return { throttled, retryAt: limited.resetAt, reason: `${limited.source}: 0`, ...known };
  return { throttled, ...known };
}
