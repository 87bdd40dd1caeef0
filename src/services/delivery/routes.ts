/**
 * The delivery HTTP API (admin key): targets (`/v1/targets…`), their pause / resume, secret
 * rotation and attempt log. A target's dead letters are its subscription's
 * (`/v1/subscriptions/delivery.<id>/dead-letters`).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Bus, Position } from '../../bus/index.ts';
import { findDefinition, isTypePattern } from '../../contracts/index.ts';
import { badRequest, notFound, type ProblemDetail } from '../../platform/errors.ts';
import { ErrorAnswer, plainJson } from '../../platform/http-schemas.ts';
import type { AttemptLog } from './attempts.ts';
import type { Dispatcher } from './dispatcher.ts';
import type { Limiter } from './limiter.ts';
import { generateSecret, isValidSecret, rotate } from './signing.ts';
import { subscriptionOf, type Target, type TargetStore } from './targets.ts';
import { AttemptSchema, NewTargetBody, TargetChangesBody, TargetSchema } from './schemas.ts';

export interface DeliveryRouteDeps {
  readonly bus: Bus;
  readonly targets: TargetStore;
  readonly limiter: Limiter;
  readonly attempts: AttemptLog;
  readonly dispatcher: Dispatcher;
  readonly rotationGraceMs: number;
  /** Brings the targets' consumer contracts in step with the targets (after an add, a change of types, a removal). */
  readonly syncContracts: () => Promise<void>;
}

/** Request headers a target may not override: the ones delivery sets itself. */
const RESERVED_HEADER = /^(host|content-type|content-length|transfer-encoding|connection|user-agent|traceparent|tracestate|webhook-.*|ce-.*)$/i;

function checkTarget(body: { url?: string; types?: readonly string[]; headers?: Record<string, string>; rateLimit?: { limit?: number; burst?: number } }): void {
  const detail: ProblemDetail[] = [];
  if (body.url !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(body.url);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) detail.push({ path: '/url', message: 'must be an absolute http or https URL' });
    else if (url.username || url.password) detail.push({ path: '/url', message: 'must not carry credentials; use headers' });
  }
  body.types?.forEach((type, i) => {
    if (!isTypePattern(type)) detail.push({ path: `/types/${i}`, message: 'must be an event type, "noun.*" or "*"' });
    else if (!type.endsWith('*') && !findDefinition(type)) detail.push({ path: `/types/${i}`, message: `"${type}" is not in the catalog` });
  });
  for (const name of Object.keys(body.headers ?? {})) {
    if (RESERVED_HEADER.test(name)) detail.push({ path: `/headers/${name}`, message: 'is set by delivery itself' });
  }
  const { limit, burst } = body.rateLimit ?? {};
  if (limit !== undefined && burst !== undefined && burst > limit * 1000) detail.push({ path: '/rateLimit/burst', message: 'must be at most 1000 × limit' });
  if (detail.length > 0) throw badRequest('invalid_target', 'the target is not valid', detail);
}

const positionOf = async (bus: Bus, startAt: Static<typeof NewTargetBody>['startAt']): Promise<Position> => {
  // `now` is fixed when the target is created, whenever its subscription first runs.
  if (startAt === undefined || startAt === 'now') return { sequence: (await bus.engine.head()) + 1 };
  if (startAt === 'beginning') return 'beginning';
  return 'sequence' in startAt ? { sequence: startAt.sequence } : { time: startAt.time };
};

export function registerDeliveryRoutes(http: FastifyInstance, deps: DeliveryRouteDeps): void {
  const app = http.withTypeProvider<TypeBoxTypeProvider>();
  const { targets, limiter, attempts, dispatcher } = deps;
  const common = { config: { auth: 'admin' as const }, serializerCompiler: plainJson };
  const tags = ['delivery'];
  const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

  const view = async (target: Target) => {
    const limits = await limiter.state(target.id, target.rateLimit);
    const rotation = target.secrets.find((s) => s.expiresAt !== null && Date.parse(s.expiresAt) > Date.now());
    return {
      id: target.id,
      name: target.name,
      url: target.url,
      types: [...target.types],
      rateLimit: target.rateLimit,
      timeoutMs: target.timeoutMs,
      maxInFlight: target.maxInFlight,
      ordering: target.ordering,
      contentMode: target.contentMode,
      // Header values are often credentials (an API token): names only.
      headers: Object.fromEntries(Object.keys(target.headers).map((name) => [name, '[redacted]'])),
      retry: target.retry,
      startAt: target.startAt,
      status: target.status,
      statusReason: target.statusReason,
      subscription: subscriptionOf(target.id),
      circuit: { state: target.circuit, changedAt: target.circuitChangedAt },
      limiter: {
        pausedUntil: limits.pausedUntil > Date.now() ? new Date(limits.pausedUntil).toISOString() : null,
        pauseReason: limits.pauseReason,
        available: limits.available,
        learnedBucketSize: limits.learnedSize,
        learnedRatePerSecond: limits.learnedIntervalMs === null ? null : Math.round((1000 / limits.learnedIntervalMs) * 1000) / 1000,
      },
      signing: { secrets: target.secrets.length, rotationEndsAt: rotation?.expiresAt ?? null },
      createdAt: target.createdAt,
      updatedAt: target.updatedAt,
    };
  };
  const found = async (id: string) => {
    const target = await targets.find(id);
    if (!target) throw notFound(`no target ${JSON.stringify(id)}`);
    return target;
  };

  app.post(
    '/v1/targets',
    {
      ...common,
      schema: {
        tags,
        summary: 'Add a target: matching events are pushed to it, signed, within its rate limit',
        description: 'The answer carries the signing secret (generated when not given): it is shown this once.',
        body: NewTargetBody,
        response: { 201: Type.Intersect([TargetSchema, Type.Object({ secret: Type.String() })]), 400: ErrorAnswer, 401: ErrorAnswer, 403: ErrorAnswer },
      },
    },
    async (request, reply) => {
      const body = request.body;
      checkTarget(body);
      if (body.secret !== undefined && !isValidSecret(body.secret)) {
        throw badRequest('invalid_target', 'the target is not valid', [{ path: '/secret', message: 'must be "whsec_" followed by base64 of 24 to 64 bytes' }]);
      }
      const secret = body.secret ?? generateSecret();
      const target = await targets.create({ ...body, startAt: await positionOf(deps.bus, body.startAt), secret });
      await dispatcher.refresh();
      await deps.syncContracts();
      request.log.info({ target: target.id, url: target.url }, 'target added');
      return reply.status(201).send({ ...(await view(target)), secret });
    },
  );

  app.get(
    '/v1/targets',
    { ...common, schema: { tags, summary: 'List targets', response: { 200: Type.Object({ targets: Type.Array(TargetSchema) }), 401: ErrorAnswer, 403: ErrorAnswer } } },
    async () => ({ targets: await Promise.all((await targets.list()).map(view)) }),
  );

  app.get(
    '/v1/targets/:id',
    { ...common, schema: { tags, summary: 'A target, with its limiter and circuit state', params: Params, response: { 200: TargetSchema, 401: ErrorAnswer, 403: ErrorAnswer, 404: ErrorAnswer } } },
    async (request) => view(await found(request.params.id)),
  );

  app.patch(
    '/v1/targets/:id',
    {
      ...common,
      schema: {
        tags,
        summary: 'Change a target (a change of types, ordering, retry or maxInFlight restarts its subscription where it was)',
        params: Params,
        body: TargetChangesBody,
        response: { 200: TargetSchema, 400: ErrorAnswer, 401: ErrorAnswer, 403: ErrorAnswer, 404: ErrorAnswer },
      },
    },
    async (request) => {
      await found(request.params.id);
      checkTarget(request.body);
      const target = await targets.update(request.params.id, request.body);
      await dispatcher.refresh();
      await deps.syncContracts();
      return view(target!);
    },
  );

  app.delete(
    '/v1/targets/:id',
    { ...common, schema: { tags, summary: 'Remove a target and its attempt log', params: Params, response: { 204: Type.Null(), 401: ErrorAnswer, 403: ErrorAnswer, 404: ErrorAnswer } } },
    async (request, reply) => {
      await found(request.params.id);
      await targets.remove(request.params.id);
      await dispatcher.refresh();
      await deps.syncContracts();
      await limiter.remove(request.params.id);
      await attempts.removeTarget(request.params.id);
      return reply.status(204).send(null);
    },
  );

  for (const [action, status] of [
    ['pause', 'paused'],
    ['resume', 'active'],
  ] as const) {
    app.post(
      `/v1/targets/:id/${action}`,
      {
        ...common,
        schema: {
          tags,
          summary: action === 'pause' ? 'Stop pushing to a target (events wait in the log)' : 'Push again to a paused or disabled target, from where it stopped',
          params: Params,
          response: { 200: TargetSchema, 401: ErrorAnswer, 403: ErrorAnswer, 404: ErrorAnswer },
        },
      },
      async (request) => {
        await found(request.params.id);
        const target = await targets.setStatus(request.params.id, status, action === 'pause' ? 'paused by an administrator' : null);
        await dispatcher.refresh();
        return view(target!);
      },
    );
  }

  app.post(
    '/v1/targets/:id/rotate-secret',
    {
      ...common,
      schema: {
        tags,
        summary: 'Rotate the signing secret: the new one signs at once, the old one beside it until the grace period ends',
        params: Params,
        body: Type.Optional(
          Type.Object(
            {
              secret: Type.Optional(Type.String({ maxLength: 200, description: 'The new secret, `whsec_` + base64. (Default: generated)' })),
              graceSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 30 * 86_400, description: 'How long the old secret still signs. (Default: FLAMINGO_DELIVERY_ROTATION_GRACE_HOURS)' })),
            },
            { additionalProperties: false },
          ),
        ),
        response: { 200: Type.Object({ secret: Type.String(), previousExpiresAt: Type.String() }), 400: ErrorAnswer, 401: ErrorAnswer, 403: ErrorAnswer, 404: ErrorAnswer },
      },
    },
    async (request) => {
      const target = await found(request.params.id);
      const given = request.body?.secret;
      if (given !== undefined && !isValidSecret(given)) throw badRequest('invalid_secret', 'the secret is not valid', [{ path: '/secret', message: 'must be "whsec_" followed by base64 of 24 to 64 bytes' }]);
      const secret = given ?? generateSecret();
      const graceMs = request.body?.graceSeconds !== undefined ? request.body.graceSeconds * 1000 : deps.rotationGraceMs;
      const now = new Date();
      await targets.setSecrets(target.id, rotate(target.secrets, secret, graceMs, now));
      await dispatcher.refresh();
      request.log.info({ target: target.id }, 'target secret rotated');
      return { secret, previousExpiresAt: new Date(now.getTime() + graceMs).toISOString() };
    },
  );

  app.get(
    '/v1/targets/:id/attempts',
    {
      ...common,
      schema: {
        tags,
        summary: 'The attempt log of a target, newest first',
        params: Params,
        querystring: Type.Object({
          eventId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
          outcome: Type.Optional(Type.Union([Type.Literal('delivered'), Type.Literal('retrying'), Type.Literal('throttled'), Type.Literal('failed')])),
          since: Type.Optional(Type.String({ format: 'date-time' })),
          until: Type.Optional(Type.String({ format: 'date-time' })),
          before: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Pass `next` of the previous page.' })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
        }),
        response: { 200: Type.Object({ attempts: Type.Array(AttemptSchema), next: Type.Union([Type.String(), Type.Null()]) }), 400: ErrorAnswer, 401: ErrorAnswer, 403: ErrorAnswer, 404: ErrorAnswer },
      },
    },
    async (request) => {
      await found(request.params.id);
      const limit = request.query.limit ?? 100;
      const list = await attempts.list(request.params.id, { ...request.query, limit });
      return { attempts: list, next: list.length === limit ? list[list.length - 1]!.id : null };
    },
  );
}
