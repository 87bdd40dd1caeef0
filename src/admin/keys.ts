import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { KeyScopeError, PRODUCERS } from '../platform/auth/index.ts';
import { badRequest, notFound } from '../platform/errors.ts';
import type { AdminDeps } from './deps.ts';
import { errors, plainJson } from '../platform/http-schemas.ts';

const KeyInfo = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String({ description: 'The first characters of the key.' }),
  role: Type.Union([Type.Literal('producer'), Type.Literal('analyst')], { description: '`producer`: publishes events; `analyst`: reads the warehouse, nothing else.' }),
  types: Type.Array(Type.String()),
  producer: Type.Union([Type.String(), Type.Null()], { description: 'The producer of the catalog it publishes for; null: only types anyone may publish.' }),
  createdAt: Type.String({ format: 'date-time' }),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

/**
 * `POST/GET/DELETE /v1/keys` (admin): producer keys, scoped to event type patterns and to the
 * catalog producer they publish for (issue 7: a type a Flamingo service produces is published
 * over HTTP only with a key scoped to that producer).
 */
export function keyRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const { keys } = deps;
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const common = { config: { auth: 'admin' as const }, serializerCompiler: plainJson };
  const tags = ['keys'];

  typed.post(
    '/v1/keys',
    {
      ...common,
      schema: {
        tags,
        summary: 'Create a producer or analyst key (the key is shown in this answer only)',
        description:
          'A key with `role: "analyst"` reads the warehouse (`POST /v1/warehouse/query`, `GET /v1/warehouse/export`) and nothing else; it takes no `producer` nor `types`. ' +
          'A key with `producer` publishes the types that producer owns in the catalog (and the types anyone may publish), narrowed by `types`. ' +
          'A key without `producer` publishes only types the catalog lets anyone publish (cart item events). ' +
          'A pattern that matches no type the key could publish is refused (400).',
        body: Type.Object(
          {
            name: Type.Optional(Type.String({ maxLength: 100, description: 'Who uses it, e.g. `webshop`. (Default: the producer, or the role)' })),
            role: Type.Optional(
              Type.Union([Type.Literal('producer'), Type.Literal('analyst')], { description: '`producer` publishes events; `analyst` reads the warehouse. (Default: `producer`)' }),
            ),
            producer: Type.Optional(Type.Union(PRODUCERS.map((p) => Type.Literal(p)), { description: 'The catalog producer it publishes for, e.g. `orders`.' })),
            types: Type.Optional(
              Type.Array(Type.String({ minLength: 1 }), {
                minItems: 1,
                description: 'Event type patterns it may publish: `order.*`, `cart.item_added`, `*`. (Default: `*` with a producer; required without one)',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Composite([KeyInfo, Type.Object({ key: Type.String() })]), ...errors(400, 401, 403) },
      },
    },
    async (request, reply) => {
      try {
        const created = await keys.create(request.body);
        request.log.info({ key: created.id, name: created.name, role: created.role, types: created.types, producer: created.producer }, `${created.role} key created`);
        return reply.status(201).send({ ...created, types: [...created.types] });
      } catch (error) {
        if (error instanceof KeyScopeError) throw badRequest('invalid_request', error.message, [{ path: `/body/${error.field}`, message: error.message }]);
        throw error;
      }
    },
  );

  typed.get(
    '/v1/keys',
    { ...common, schema: { tags, summary: 'List producer keys (never the keys themselves)', response: { 200: Type.Object({ keys: Type.Array(KeyInfo) }), ...errors(401, 403) } } },
    async () => ({ keys: (await keys.list()).map((k) => ({ ...k, types: [...k.types] })) }),
  );

  typed.delete(
    '/v1/keys/:id',
    {
      ...common,
      schema: {
        tags,
        summary: 'Revoke a producer key at once',
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
