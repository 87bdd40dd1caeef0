import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { badRequest, notFound } from '../../platform/errors.ts';
import type { RouteDeps } from './deps.ts';
import { admin, errors, plainJson } from './schemas.ts';

const KeyInfo = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String({ description: 'The first characters of the key.' }),
  types: Type.Array(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

/** `POST/GET/DELETE /v1/keys` (admin): producer keys scoped to event type patterns. */
export function keyRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { keys, guard } = deps;
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const common = { preHandler: guard.requireAdmin, serializerCompiler: plainJson };
  const tags = ['keys'];

  typed.post(
    '/v1/keys',
    {
      ...common,
      schema: {
        tags,
        summary: 'Create a producer key (the key is shown in this answer only)',
        security: admin,
        body: Type.Object(
          {
            name: Type.Optional(Type.String({ maxLength: 100, description: 'Who uses it, e.g. `webshop`. (Default: producer)' })),
            types: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'Event type patterns it may publish: `order.*`, `cart.item_added`, `*`.' }),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Composite([KeyInfo, Type.Object({ key: Type.String() })]), ...errors(400, 401, 403) },
      },
    },
    async (request, reply) => {
      try {
        const created = await keys.create(request.body);
        request.log.info({ key: created.id, name: created.name, types: created.types }, 'producer key created');
        return reply.status(201).send({ ...created, types: [...created.types] });
      } catch (error) {
        if (error instanceof RangeError) throw badRequest('invalid_request', error.message, [{ path: '/body/types', message: error.message }]);
        throw error;
      }
    },
  );

  typed.get(
    '/v1/keys',
    { ...common, schema: { tags, summary: 'List producer keys (never the keys themselves)', security: admin, response: { 200: Type.Object({ keys: Type.Array(KeyInfo) }), ...errors(401, 403) } } },
    async () => ({ keys: (await keys.list()).map((k) => ({ ...k, types: [...k.types] })) }),
  );

  typed.delete(
    '/v1/keys/:id',
    {
      ...common,
      schema: {
        tags,
        summary: 'Revoke a producer key at once',
        security: admin,
        params: Type.Object({ id: Type.String({ minLength: 1 }) }),
        response: { 204: Type.Null(), ...errors(401, 403, 404) },
      },
    },
    async (request, reply) => {
      if (!(await keys.revoke(request.params.id))) throw notFound(`no active key with id ${request.params.id}`);
      request.log.info({ key: request.params.id }, 'producer key revoked');
      return reply.status(204).send(null);
    },
  );
}
