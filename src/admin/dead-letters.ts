import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { redactEvent } from '../contracts/index.ts';
import { notFound } from '../platform/errors.ts';
import type { AdminDeps } from './deps.ts';
import { errors, plainJson } from '../platform/http-schemas.ts';
import { StoredCloudEvent } from './schemas.ts';
import { SubscriptionParams, findSubscription } from './subscriptions.ts';

const DeadLetterSchema = Type.Object({
  subscription: Type.String(),
  event: StoredCloudEvent,
  error: Type.String(),
  attempts: Type.Integer(),
  firstFailedAt: Type.String({ format: 'date-time' }),
  lastFailedAt: Type.String({ format: 'date-time' }),
});
const OneParams = Type.Object({ name: Type.String({ minLength: 1 }), eventId: Type.String({ minLength: 1 }) });
const ListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  afterSequence: Type.Optional(Type.Integer({ minimum: 0, description: 'Pass `next` of the previous page.' })),
});

/** Dead letters of a subscription (admin): list, retry one or all, discard one or all. */
export function deadLetterRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const { bus } = deps;
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const common = { config: { auth: 'admin' as const }, serializerCompiler: plainJson };
  const tags = ['dead letters'];

  typed.get(
    '/v1/subscriptions/:name/dead-letters',
    {
      ...common,
      schema: {
        tags,
        summary: 'List dead letters',
        description: 'Fields the catalog marks secret read `[redacted]`.',
        params: SubscriptionParams,
        querystring: ListQuery,
        response: {
          200: Type.Object({ deadLetters: Type.Array(DeadLetterSchema), next: Type.Union([Type.Integer(), Type.Null()]) }),
          ...errors(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      await findSubscription(bus, request.params.name);
      const limit = request.query.limit ?? 100;
      const deadLetters = await bus.deadLetters(request.params.name, { limit, afterSequence: request.query.afterSequence });
      const next = deadLetters.length === limit ? deadLetters[deadLetters.length - 1].event.sequence : null;
      return { deadLetters: deadLetters.map((letter) => ({ ...letter, event: redactEvent(letter.event) })), next };
    },
  );

  typed.post(
    '/v1/subscriptions/:name/dead-letters/:eventId/retry',
    {
      ...common,
      schema: {
        tags,
        summary: 'Retry one dead letter (delivered again as a first attempt)',
        params: OneParams,
        response: { 200: Type.Object({ retried: Type.Integer() }), ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const { name, eventId } = request.params;
      await findSubscription(bus, name);
      const retried = await bus.retryDeadLetters(name, eventId);
      if (retried === 0) throw notFound(`subscription ${name} has no dead letter ${eventId}`);
      request.log.info({ subscription: name, id: eventId }, 'dead letter retried');
      return { retried };
    },
  );

  typed.post(
    '/v1/subscriptions/:name/dead-letters/retry',
    {
      ...common,
      schema: {
        tags,
        summary: 'Retry every dead letter of the subscription',
        params: SubscriptionParams,
        response: { 200: Type.Object({ retried: Type.Integer() }), ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      await findSubscription(bus, request.params.name);
      const retried = await bus.retryDeadLetters(request.params.name);
      request.log.info({ subscription: request.params.name, retried }, 'dead letters retried');
      return { retried };
    },
  );

  typed.delete(
    '/v1/subscriptions/:name/dead-letters/:eventId',
    {
      ...common,
      schema: {
        tags,
        summary: 'Discard one dead letter',
        params: OneParams,
        response: { 200: Type.Object({ discarded: Type.Integer() }), ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      const { name, eventId } = request.params;
      await findSubscription(bus, name);
      const discarded = await bus.discardDeadLetters(name, eventId);
      if (discarded === 0) throw notFound(`subscription ${name} has no dead letter ${eventId}`);
      request.log.info({ subscription: name, id: eventId }, 'dead letter discarded');
      return { discarded };
    },
  );

  typed.delete(
    '/v1/subscriptions/:name/dead-letters',
    {
      ...common,
      schema: {
        tags,
        summary: 'Discard every dead letter of the subscription',
        params: SubscriptionParams,
        response: { 200: Type.Object({ discarded: Type.Integer() }), ...errors(401, 403, 404) },
      },
    },
    async (request) => {
      await findSubscription(bus, request.params.name);
      const discarded = await bus.discardDeadLetters(request.params.name);
      request.log.info({ subscription: request.params.name, discarded }, 'dead letters discarded');
      return { discarded };
    },
  );
}
