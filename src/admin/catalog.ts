import type { FastifyInstance } from 'fastify';
import { asyncApiDocument, catalogDocument, type ConsumerContract } from '../contracts/index.ts';
import type { ContractStore } from '../platform/auth/index.ts';
import { plainJson } from '../platform/http-schemas.ts';

/**
 * `GET /v1/catalog` and `GET /v1/asyncapi.json`: the event contracts, public (producers need them,
 * and they hold no data). Each type shows its producers and its readers with the fields they read
 * (issue 14): the contracts declared in code, registered over the API and of delivery targets.
 */
export function catalogRoutes(app: FastifyInstance, options: { version: string; contracts: ContractStore; codeContracts: readonly ConsumerContract[] }): void {
  const allContracts = async () => [...options.codeContracts, ...(await options.contracts.list())];
  app.get(
    '/v1/catalog',
    { config: { auth: 'public' }, serializerCompiler: plainJson, schema: { tags: ['catalog'], summary: 'Every event type: metadata, aliases, JSON Schema of data, producers and readers' } },
    async (_request, reply) => reply.type('application/json').send(JSON.stringify(catalogDocument(await allContracts()))),
  );
  app.get(
    '/v1/asyncapi.json',
    { config: { auth: 'public' }, serializerCompiler: plainJson, schema: { tags: ['catalog'], summary: 'The catalog as an AsyncAPI 3.0 document' } },
    async (request, reply) => {
      const serverUrl = `${request.protocol}://${request.host}`;
      return reply.type('application/json').send(JSON.stringify(asyncApiDocument({ serverUrl, documentVersion: options.version, contracts: await allContracts() })));
    },
  );
}
