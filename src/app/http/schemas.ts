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

const str = (description: string, extra: Record<string, unknown> = {}) => Type.Optional(Type.String({ description, ...extra }));

/** A CloudEvent as a producer sends it (structured mode). */
export const IncomingCloudEvent = Type.Object(
  {
    specversion: Type.Literal('1.0'),
    id: str('Unique per event; send one so a retried POST is stored once. (Default: a new UUIDv7)'),
    source: str('Who produced it, a URI reference. (Default: /collector)'),
    type: Type.String({ description: 'A catalog type or one of its aliases (item_added_to_cart is stored as cart.item_added).', examples: ['order.placed'] }),
    subject: str('(Default: derived from the catalog key, <noun>/<key>)'),
    time: str('When it happened, RFC 3339. (Default: now)', { format: 'date-time' }),
    datacontenttype: Type.Optional(Type.Literal('application/json')),
    dataschema: str('When given, must be the catalog version: flamingo:<type>/v<version>.'),
    data: Type.Unknown({ description: 'Checked against the type\'s schema, see GET /v1/catalog.' }),
    partitionkey: str('(Default: derived from the catalog key)'),
    traceparent: str('W3C trace context. (Default: the request\'s traceparent header)'),
    tracestate: str('W3C trace context.'),
    correlationid: str('Ties the events of one business process together.'),
    causationid: str('The id of the event or command that caused this one.'),
  },
  { additionalProperties: false, title: 'CloudEvent (incoming)' },
);

/** A stored CloudEvent. */
export const StoredCloudEvent = Type.Object(
  {
    specversion: Type.Literal('1.0'),
    id: Type.String(),
    source: Type.String(),
    type: Type.String(),
    subject: Type.Optional(Type.String()),
    time: Type.String({ format: 'date-time' }),
    datacontenttype: Type.Literal('application/json'),
    dataschema: Type.Optional(Type.String()),
    data: Type.Unknown(),
    sequence: Type.Integer({ description: 'Position in the log.' }),
    recordedtime: Type.String({ format: 'date-time', description: 'When the bus stored it.' }),
    partitionkey: Type.Optional(Type.String()),
    traceparent: Type.Optional(Type.String()),
    tracestate: Type.Optional(Type.String()),
    correlationid: Type.Optional(Type.String()),
    causationid: Type.Optional(Type.String()),
  },
  { title: 'CloudEvent (stored)' },
);

export const Accepted = Type.Object({
  id: Type.String(),
  sequence: Type.Integer(),
  duplicate: Type.Boolean({ description: 'The id was already stored; nothing changed.' }),
});

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

