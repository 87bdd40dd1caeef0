/** The shapes of the delivery API (TypeBox: validation and the OpenAPI document). */
import { Type } from '@sinclair/typebox';

const RateLimitBody = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100_000, description: 'Requests per interval. (Default: 10)' }),
    intervalMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400_000, description: 'The interval. (Default: 1 000 ms)' })),
    burst: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: 'Requests that may go at once after a quiet time, the bucket size. (Default: limit)' })),
  },
  { additionalProperties: false },
);

const RetryBody = Type.Object(
  {
    maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Attempts before dead letters, the first included; throttled requests do not count. (Default: 15)' })),
    initialDelayMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400_000, description: '(Default: 5 000)' })),
    maxDelayMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1, description: '(Default: 36 000 000, 10 h)' })),
    factor: Type.Optional(Type.Number({ minimum: 1, maximum: 100, description: '(Default: 3)' })),
    jitter: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'Share of each delay that is random. (Default: 0.2)' })),
  },
  { additionalProperties: false, description: 'Exponential backoff with jitter. (Default: 5 s ×3 up to 10 h, 15 attempts, about 2½ days)' },
);

const HeadersBody = Type.Record(
  Type.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$" }),
  Type.String({ maxLength: 4096, pattern: '^[\\t\\x20-\\x7e]*$' }),
  { maxProperties: 32, description: 'Extra request headers (e.g. an API token). Values are never shown again.' },
);

const editable = {
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  url: Type.String({ minLength: 1, maxLength: 2048, description: 'http or https URL the events are POSTed to.' }),
  types: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 100, description: 'Event types or patterns (`order.*`, `*`).' }),
  rateLimit: Type.Optional(RateLimitBody),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 120_000, description: 'A reply later than this is a failure. (Default: 5 000)' })),
  maxInFlight: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Requests in flight at once, per process. (Default: 4)' })),
  ordering: Type.Optional(Type.Union([Type.Literal('key'), Type.Literal('none')], { description: '`key`: per-key order; `none`: fastest. (Default: key)' })),
  contentMode: Type.Optional(Type.Union([Type.Literal('structured'), Type.Literal('binary')], { description: 'CloudEvents HTTP binding mode. (Default: structured)' })),
  headers: Type.Optional(HeadersBody),
  retry: Type.Optional(RetryBody),
};

export const NewTargetBody = Type.Object(
  {
    ...editable,
    startAt: Type.Optional(
      Type.Union(
        [
          Type.Literal('beginning'),
          Type.Literal('now'),
          Type.Object({ time: Type.String({ format: 'date-time' }) }, { additionalProperties: false }),
          Type.Object({ sequence: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }),
        ],
        { description: 'Where in the log the target starts. (Default: now)' },
      ),
    ),
    secret: Type.Optional(Type.String({ maxLength: 200, description: 'Signing secret, `whsec_` + base64 of 24–64 bytes. (Default: generated, shown once)' })),
  },
  { additionalProperties: false },
);

export const TargetChangesBody = Type.Partial(Type.Object(editable, { additionalProperties: false }), { additionalProperties: false, minProperties: 1 });

const RateLimitSchema = Type.Object({ limit: Type.Integer(), intervalMs: Type.Integer(), burst: Type.Integer() });

export const TargetSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  url: Type.String(),
  types: Type.Array(Type.String()),
  rateLimit: RateLimitSchema,
  timeoutMs: Type.Integer(),
  maxInFlight: Type.Integer(),
  ordering: Type.String(),
  contentMode: Type.String(),
  headers: Type.Record(Type.String(), Type.String(), { description: 'Header names; values are redacted.' }),
  retry: Type.Object({ maxAttempts: Type.Integer(), initialDelayMs: Type.Number(), maxDelayMs: Type.Number(), factor: Type.Number(), jitter: Type.Number() }),
  startAt: Type.Unknown(),
  status: Type.Union([Type.Literal('active'), Type.Literal('paused'), Type.Literal('disabled')], { description: '`disabled`: the target answered 410 Gone.' }),
  statusReason: Type.Union([Type.String(), Type.Null()]),
  subscription: Type.String({ description: 'The bus subscription: its dead letters are the target\'s.' }),
  circuit: Type.Object({ state: Type.String({ description: 'closed, open or halfOpen (as last changed in any process).' }), changedAt: Type.Union([Type.String(), Type.Null()]) }),
  limiter: Type.Object({
    pausedUntil: Type.Union([Type.String(), Type.Null()], { description: 'No request before this instant (Retry-After, THROTTLED, RateLimit headers).' }),
    pauseReason: Type.Union([Type.String(), Type.Null()]),
    available: Type.Integer({ description: 'Requests that could go now.' }),
    learnedBucketSize: Type.Union([Type.Integer(), Type.Null()], { description: 'The target\'s bucket size when it is smaller than the burst.' }),
    learnedRatePerSecond: Type.Union([Type.Number(), Type.Null()], { description: 'The pace the target told (GraphQL restore rate ÷ query cost, RateLimit-Policy); the slower of it and `rateLimit` applies.' }),
  }),
  signing: Type.Object({ secrets: Type.Integer({ description: 'Secrets signing each request (2 during a rotation).' }), rotationEndsAt: Type.Union([Type.String(), Type.Null()]) }),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

export const AttemptSchema = Type.Object({
  id: Type.String(),
  targetId: Type.String(),
  eventId: Type.String(),
  eventType: Type.String(),
  attempt: Type.Integer(),
  startedAt: Type.String(),
  durationMs: Type.Number(),
  status: Type.Union([Type.Integer(), Type.Null()]),
  responseHeaders: Type.Union([Type.Record(Type.String(), Type.String()), Type.Null()]),
  responseBody: Type.Union([Type.String(), Type.Null()], { description: 'The first 4 KB.' }),
  error: Type.Union([Type.String(), Type.Null()]),
  outcome: Type.Union([Type.Literal('delivered'), Type.Literal('retrying'), Type.Literal('throttled'), Type.Literal('failed')]),
});
