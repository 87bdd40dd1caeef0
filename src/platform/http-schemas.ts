import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifySchema } from 'fastify';

/** Every error answer (CONVENTIONS.md): a code, a sentence, and the path and rule of each problem. */
export const ErrorBody = Type.Object(
  {
    error: Type.String({ examples: ['invalid_event'] }),
    message: Type.String(),
    detail: Type.Optional(
      Type.Array(Type.Object({ path: Type.String({ examples: ['/data/items/0/quantity'] }), message: Type.String({ examples: ['must be >= 1'] }) })),
    ),
  },
  { $id: 'ErrorBody', title: 'Error' },
);

/** Standard error answers, for OpenAPI. */
export function errors(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((s) => [s, Type.Ref('ErrorBody')]));
}

/**
 * Route options for schemas that document the API while the route checks input itself (so that
 * errors name each field the way the collector does) and answers with plain JSON.
 */
export function documentedOnly(schema: FastifySchema) {
  return {
    schema,
    validatorCompiler: () => () => true,
    serializerCompiler: () => (data: unknown) => JSON.stringify(data),
  };
}

/** Plain JSON answers for routes whose response schemas only document (fast-json-stringify would drop `data`). */
export const plainJson = () => (data: unknown) => JSON.stringify(data);


/** One error answer in a route's response schema (the registered `ErrorBody`). */
export const ErrorAnswer = Type.Ref('ErrorBody');
