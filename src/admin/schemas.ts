import { Type } from '@sinclair/typebox';

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
  { title: 'CloudEvent (stored)', description: 'Extension attributes the producer sent follow as further top-level attributes (CloudEvents JSON format).' },
);
