import type { FastifyInstance } from 'fastify';
import { asyncApiDocument, catalogDocument } from '../contracts/index.ts';
import { plainJson } from '../platform/http-schemas.ts';

/**
 * `GET /v1/catalog` and `GET /v1/asyncapi.json`: the event contracts, public (producers need them,
 * and they hold no data).
 */
export function catalogRoutes(app: FastifyInstance, options: { version: string }): void {
  const catalog = JSON.stringify(catalogDocument());
  app.get(
    '/v1/catalog',
    { config: { auth: 'public' }, serializerCompiler: plainJson, schema: { tags: ['catalog'], summary: 'Every event type: metadata, aliases and JSON Schema of data' } },
    async (_request, reply) => reply.type('application/json').send(catalog),
  );
  app.get(
    '/v1/asyncapi.json',
    { config: { auth: 'public' }, serializerCompiler: plainJson, schema: { tags: ['catalog'], summary: 'The catalog as an AsyncAPI 3.0 document' } },
    async (request, reply) => {
      const serverUrl = `${request.protocol}://${request.host}`;
      return reply.type('application/json').send(JSON.stringify(asyncApiDocument({ serverUrl, documentVersion: options.version })));
    },
  );
}
