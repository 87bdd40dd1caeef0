import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { redactEvent } from '../contracts/index.ts';
import { commaList } from '../platform/config.ts';
import { badRequest } from '../platform/errors.ts';
import type { AdminDeps } from './deps.ts';
import { errors, plainJson } from '../platform/http-schemas.ts';
import { StoredCloudEvent } from './schemas.ts';

const EventsQuery = Type.Object({
  type: Type.Optional(Type.String({ description: 'Comma list of types or patterns: `order.*,payment.failed`.' })),
  subject: Type.Optional(Type.String({ description: 'Exact subject, e.g. `order/123`.' })),
  afterSequence: Type.Optional(Type.Integer({ minimum: 0, description: 'Only events after this sequence; pass `next` of the previous page. (Default: 0)' })),
  since: Type.Optional(Type.String({ format: 'date-time', description: 'Recorded at or after.' })),
  until: Type.Optional(Type.String({ format: 'date-time', description: 'Recorded before.' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
});

/** `GET /v1/events` (admin): the log, filtered and paginated; the catalog's secrets masked (`redactEvent`). */
export function eventsReadRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const { bus } = deps;
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/v1/events',
    {
      config: { auth: 'admin' as const },
      serializerCompiler: plainJson,
      schema: {
        tags: ['admin'],
        summary: 'Read the event log',
        description:
          'Events in log order. When a page is full, `next` is the `afterSequence` of the next page; `head` is the last sequence in the log. ' +
          'Fields the catalog marks secret (the payment token of `order.placed`) read `[redacted]`.',
        querystring: EventsQuery,
        response: {
          200: Type.Object({
            events: Type.Array(StoredCloudEvent),
            next: Type.Union([Type.Integer(), Type.Null()]),
            head: Type.Integer(),
          }),
          ...errors(400, 401, 403),
        },
      },
    },
    async (request) => {
      const q = request.query;
      const limit = q.limit ?? 100;
      const types = q.type === undefined ? undefined : commaList(q.type);
      if (q.since && q.until && Date.parse(q.since) > Date.parse(q.until)) {
        throw badRequest('invalid_request', 'since must not be after until', [{ path: '/query/since', message: 'must not be after until' }]);
      }
      // The head is read first: every matching event up to it is in this page or a later one.
      const head = await bus.engine.head();
      const events = await bus.read({ types, subject: q.subject, afterSequence: q.afterSequence ?? 0, since: q.since, until: q.until, limit });
      const next = events.length === limit ? events[events.length - 1].sequence : null;
      return { events: events.map((event) => redactEvent(event)), next, head };
    },
  );
}
