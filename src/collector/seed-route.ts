import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { findDefinition, fromSeedEnvelope, matchesTypePattern, seedPathOf, validateData } from '../contracts/index.ts';
import { badRequest, forbidden, tooLarge, unauthorized, unprocessable } from '../platform/errors.ts';
import { eventBytes } from './spans.ts';
import { fromBusError } from './bus-errors.ts';
import type { CollectorDeps } from './deps.ts';
import { documentedOnly, errors } from '../platform/http-schemas.ts';

const SeedEnvelope = Type.Object(
  {
    event_id: Type.String({ format: 'uuid' }),
    stamp: Type.Optional(Type.String({ description: 'ISO 8601; without offset it is UTC (pydantic datetime.utcnow()).' })),
    event: Type.Object(
      {
        event_name: Type.String({ examples: ['item_added_to_cart'] }),
        event_time: Type.String({ description: 'ISO 8601; without offset it is UTC.' }),
      },
      { additionalProperties: true, description: 'The event fields; everything but event_name and event_time becomes `data`.' },
    ),
  },
  { title: 'Seed EventEnvelope' },
);

/**
 * `POST /event`: the seed's envelope, so its Python producers work unchanged (DESIGN.md "Seed
 * compatibility"). They send no key: types in `FLAMINGO_SEED_TYPES` (default `cart.item_added`;
 * only types the catalog lets anyone publish, checked at start-up) are accepted without one; any
 * other type needs `Authorization: Bearer` with a key allowed to publish it — for a type a
 * Flamingo service produces, a key scoped to that producer (issue 7).
 */
export function seedEventRoutes(app: FastifyInstance, deps: CollectorDeps): void {
  const { bus, guard, metrics, limits, config } = deps;
  app.post(
    '/event',
    {
      // Credentials are optional (keyless seed producers) but checked before the body is read when
      // sent; anyone may call it without a key, so it is counted per client (FLAMINGO_RATE_LIMIT_KEYLESS).
      config: { auth: 'optional', clientRateLimit: 'keyless' },
      ...documentedOnly({
        tags: ['collector'],
        summary: 'Publish a seed envelope (legacy producers)',
        description:
          'The seed\'s `EventEnvelope` as pydantic `.json()` writes it, with or without `Content-Type: application/json`. ' +
          'Answers 201 `{"event_id": …, "status": "ok"}`. Event types in FLAMINGO_SEED_TYPES (default `cart.item_added`) need no key; ' +
          'a type a Flamingo service produces needs a key scoped to its producer (403 otherwise).',
        consumes: ['application/json'],
        body: SeedEnvelope,
        response: {
          201: Type.Object({ event_id: Type.String({ format: 'uuid' }), status: Type.Literal('ok') }),
          ...errors(400, 401, 403, 409, 413, 415, 422, 429),
        },
      }),
    },
    async (request, reply) => {
      const { principal } = request;
      // Measured as on POST /v1/events: its compact JSON as stored (spans.ts eventBytes).
      const size = eventBytes(request.body, request.bodyBytes, limits.maxEventBytes);
      if (size > limits.maxEventBytes) throw tooLarge('event_too_large', `an event may be at most ${limits.maxEventBytes} bytes; this one is ${size}`);
      const read = fromSeedEnvelope(request.body);
      if (!read.ok) {
        if (read.status === 400) throw badRequest('invalid_envelope', 'the body is not a seed event envelope', read.issues);
        throw unprocessable('unknown_event_type', 'the catalog has no such event type', read.issues);
      }
      const { event } = read;
      if (principal.kind === 'anonymous') {
        if (!config.seedTypes.some((p) => matchesTypePattern(p, event.type))) {
          throw unauthorized(`${event.type} needs an API key: send Authorization: Bearer <key> (without one only ${config.seedTypes.join(', ') || 'nothing'} is accepted, FLAMINGO_SEED_TYPES)`);
        }
      } else {
        const refusal = guard.publishRefusal(principal, event.type);
        if (refusal !== undefined) throw forbidden(`${refusal}; nothing was stored`, [{ path: '/event/event_name', message: refusal }]);
      }
      const definition = findDefinition(event.type);
      const issues = (definition ? validateData(definition, event.data) : []).map((i) => ({ path: seedPathOf(i.path), message: i.message }));
      if (issues.length > 0) throw unprocessable('invalid_event', 'the event does not match its schema', issues);

      const result = await bus
        .publish({ id: event.id, type: event.type, time: event.time, data: event.data as never, source: '/seed' })
        .catch((error: unknown) => Promise.reject(fromBusError(error, () => '', '/event_id')));
      if (!result.duplicate) metrics.eventsPublished.inc({ type: event.type });
      // The id as stored: a UUID in canonical lower case.
      return reply.status(201).send({ event_id: result.id, status: 'ok' });
    },
  );
}
