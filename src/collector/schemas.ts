import { Type } from '@sinclair/typebox';

const str = (description: string, extra: Record<string, unknown> = {}) => Type.Optional(Type.String({ description, ...extra }));

/** A CloudEvent as a producer sends it (structured mode). */
export const IncomingCloudEvent = Type.Object(
  {
    specversion: Type.Literal('1.0'),
    id: Type.String({ description: 'Unique per source (CloudEvents: source + id identify an event); a retried POST with the same source, id and content is stored once. A UUID is stored in lower case.' }),
    source: Type.String({ description: 'Who produced it, a URI reference (RFC 3986), e.g. /webshop or https://shop.example.' }),
    type: Type.String({ description: 'A catalog type or one of its aliases (item_added_to_cart is stored as cart.item_added).', examples: ['order.placed'] }),
    subject: str('(Default: derived from the catalog key, <noun>/<key>)'),
    time: str('When it happened, RFC 3339. (Default: now)', { format: 'date-time' }),
    datacontenttype: Type.Optional(Type.Literal('application/json')),
    dataschema: str('When given: the catalog version, flamingo:<type>/v<version>, or an older one the catalog keeps deprecated (data is then checked against that version).'),
    data: Type.Unknown({ description: 'Checked against the type\'s schema, see GET /v1/catalog.' }),
    partitionkey: str('(Default: derived from the catalog key)'),
    traceparent: str('W3C trace context. (Default: the request\'s traceparent header)'),
    tracestate: str('W3C trace context.'),
    correlationid: str('Ties the events of one business process together.'),
    causationid: str('The id of the event or command that caused this one.'),
  },
  {
    // Extension attributes (CloudEvents 1.0): any other lower-case alphanumeric name, kept on the stored event.
    patternProperties: { '^[a-z0-9]{1,64}$': { type: ['string', 'integer', 'boolean'] } },
    additionalProperties: false,
    title: 'CloudEvent (incoming)',
    description: 'Any other attribute named with 1–64 lower-case letters and digits is an extension attribute (string, boolean or 32-bit integer), stored and shown with the event.',
  },
);

/** The answer for each accepted event. */
export const Accepted = Type.Object({
  id: Type.String(),
  sequence: Type.Integer(),
  duplicate: Type.Boolean({ description: 'The event (source + id, same content) was already stored; nothing changed.' }),
});
