import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { redactEvent } from '../contracts/index.ts';
import { commaList } from '../platform/config.ts';
import { errors } from '../platform/http-schemas.ts';
import { streamFeed } from '../platform/sse.ts';
import type { AdminDeps } from './deps.ts';

const StreamQuery = Type.Object({
  type: Type.Optional(Type.String({ description: 'Comma list of types or patterns: `order.*,payment.failed`.' })),
  afterSequence: Type.Optional(Type.Integer({ minimum: 0, description: 'Start after this sequence. (Default: the head: only new events)' })),
});

/** Events per read while catching up. */
const PAGE = 500;

/**
 * `GET /v1/events/stream` (admin; the admin's browser session works too): the log live, as
 * Server-Sent Events — `id` is the sequence, `event` the type, `data` the CloudEvent with the
 * catalog's secrets masked. A reconnecting client's `Last-Event-ID` resumes after that sequence.
 */
export function eventStreamRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const { bus } = deps;
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/v1/events/stream',
    {
      config: { auth: 'admin' as const },
      sse: 'only',
      schema: {
        tags: ['admin'],
        summary: 'Follow the event log live (Server-Sent Events, resumable with Last-Event-ID)',
        description:
          'Each message: `id` = the sequence, `event` = the type, `data` = the stored CloudEvent (secrets `[redacted]`). ' +
          'Starts after `Last-Event-ID`, else after `afterSequence`, else at the head.',
        querystring: StreamQuery,
        response: { ...errors(400, 401, 403, 406) },
      },
    },
    async (request, reply) => {
      const types = request.query.type === undefined ? undefined : commaList(request.query.type);
      const after = request.query.afterSequence ?? (await bus.engine.head());
      await streamFeed(app, request, reply, {
        after,
        read: async (position) => {
          const events = await bus.read({ types, afterSequence: position, limit: PAGE });
          return events.map((event) => ({ position: event.sequence, event: event.type, data: redactEvent(event) }));
        },
      });
    },
  );
}
