/**
 * `POST/GET/DELETE /v1/contracts` (admin, issue 14): consumer contracts of systems outside
 * Flamingo's code — what an outside team's consumer reads (types, versions, fields of `data`). They
 * are stored in the platform database; `flamingo catalog check --server` and `GET /v1/catalog` read
 * them with the contracts declared in code and the delivery targets' own.
 */
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { ConsumerContractSchema, catalogSnapshot, contractProblems, type ConsumerContract } from '../contracts/index.ts';
import type { StoredContract } from '../platform/auth/index.ts';
import { ApiError, badRequest, notFound } from '../platform/errors.ts';
import { errors, plainJson } from '../platform/http-schemas.ts';
import type { AdminDeps } from './deps.ts';

/** Consumer names a delivery target's contract takes (`delivery.<target id>`): kept in step with the target, not set over the API. */
const TARGET_PREFIX = 'delivery.';

const ContractView = Type.Object({
  consumer: Type.String(),
  origin: Type.Union([Type.Literal('code'), Type.Literal('api'), Type.Literal('target')], {
    description: '`code`: declared beside a handler in Flamingo; `api`: registered here; `target`: a delivery target\'s, kept in step with it.',
  }),
  reads: Type.Array(Type.Object({ type: Type.String(), version: Type.Optional(Type.Integer()), fields: Type.Array(Type.String()) })),
  createdAt: Type.Optional(Type.String({ format: 'date-time' })),
  updatedAt: Type.Optional(Type.String({ format: 'date-time' })),
});

const viewOf = (contract: StoredContract) => ({ ...contract, reads: contract.reads.map((r) => ({ ...r, fields: [...r.fields] })) });
const codeView = (contract: ConsumerContract) => ({ consumer: contract.consumer, origin: 'code' as const, reads: contract.reads.map((r) => ({ ...r, fields: [...r.fields] })) });

export function contractRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const { contracts, codeContracts } = deps;
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const common = { config: { auth: 'admin' as const }, serializerCompiler: plainJson };
  const tags = ['contracts'];
  const inCode = (consumer: string) => codeContracts.find((c) => c.consumer === consumer);
  const Params = Type.Object({ consumer: Type.String({ minLength: 1, maxLength: 200 }) });

  typed.post(
    '/v1/contracts',
    {
      ...common,
      schema: {
        tags,
        summary: 'Register (or replace) what a consumer reads: event types, versions and fields of data',
        description:
          'Each read names a catalog type, the version the consumer was built against (the current one or a deprecated one still accepted) and the top-level fields of `data` it reads; ' +
          'a pattern (`order.*`, `*`) takes no fields nor version. `flamingo catalog check` then fails a catalog change that would break it, naming the consumer.',
        body: ConsumerContractSchema,
        response: { 201: ContractView, ...errors(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const contract = request.body;
      if (inCode(contract.consumer)) throw badRequest('invalid_contract', 'the contract is not valid', [{ path: '/body/consumer', message: `${contract.consumer} is declared in Flamingo's code; choose another name` }]);
      if (contract.consumer.startsWith(TARGET_PREFIX)) {
        throw badRequest('invalid_contract', 'the contract is not valid', [{ path: '/body/consumer', message: `must not start with ${TARGET_PREFIX}: delivery targets register their own` }]);
      }
      const problems = contractProblems(contract, catalogSnapshot());
      if (problems.length > 0) throw badRequest('invalid_contract', 'the contract is not valid', problems.map((p) => ({ path: `/body${p.path}`, message: p.message })));
      const stored = await contracts.put(contract, 'api');
      request.log.info({ consumer: stored.consumer, reads: stored.reads.length }, 'consumer contract registered');
      return reply.status(201).send(viewOf(stored));
    },
  );

  typed.get(
    '/v1/contracts',
    { ...common, schema: { tags, summary: 'Every consumer contract: declared in code, registered over the API, of delivery targets', response: { 200: Type.Object({ contracts: Type.Array(ContractView) }), ...errors(401, 403) } } },
    async () => ({ contracts: [...codeContracts.map(codeView), ...(await contracts.list()).map(viewOf)] }),
  );

  typed.get(
    '/v1/contracts/:consumer',
    { ...common, schema: { tags, summary: 'One consumer contract', params: Params, response: { 200: ContractView, ...errors(401, 403, 404) } } },
    async (request) => {
      const code = inCode(request.params.consumer);
      if (code) return codeView(code);
      const stored = await contracts.get(request.params.consumer);
      if (!stored) throw notFound(`no contract of consumer ${JSON.stringify(request.params.consumer)}`);
      return viewOf(stored);
    },
  );

  typed.delete(
    '/v1/contracts/:consumer',
    { ...common, schema: { tags, summary: 'Remove a contract registered over the API', params: Params, response: { 204: Type.Null(), ...errors(401, 403, 404, 409) } } },
    async (request, reply) => {
      const { consumer } = request.params;
      const stored = inCode(consumer) ? undefined : await contracts.get(consumer);
      if (inCode(consumer) || stored?.origin === 'target') {
        throw new ApiError(409, 'conflict', `the contract of ${consumer} is ${stored ? "a delivery target's: remove the target" : "declared in Flamingo's code"}`);
      }
      if (!stored) throw notFound(`no contract of consumer ${JSON.stringify(consumer)}`);
      await contracts.remove(consumer);
      request.log.info({ consumer }, 'consumer contract removed');
      return reply.status(204).send(null);
    },
  );
}
