/**
 * The catalog as an AsyncAPI 3.0 document: one channel per event type, whose message is the
 * structured CloudEvent carrying that type's `data`; Flamingo receives what producers publish
 * and sends it to subscribers.
 */
import { catalog } from './catalog/index.ts';
import { jsonSchemaOf, readersOf, type JsonSchema } from './document.ts';
import type { ConsumerContract } from './reads.ts';
import { dataschemaOf } from './validate.ts';

export interface AsyncApiOptions {
  /**
   * Where producers reach Flamingo, e.g. `http://localhost:3000` or `nats://bus:4222`; becomes the
   * document's one server. (Default: none — the document lists no server)
   */
  readonly serverUrl?: string;
  /** `info.version` of the document. (Default: `1.0.0`) */
  readonly documentVersion?: string;
  /** The consumer contracts: each reader of a type becomes a `receive` operation naming the fields it reads (issue 14). (Default: none) */
  readonly contracts?: readonly ConsumerContract[];
}

/** An AsyncAPI 3.0.0 document as plain JSON. */
export type AsyncApiDocument = { readonly asyncapi: '3.0.0' } & JsonSchema;

/** Component and channel names allow `[A-Za-z0-9._-]`; event types already fit. */
const idOf = (type: string) => type.replace(/[^A-Za-z0-9._-]/g, '_');

const optionalString = (description: string, extra: JsonSchema = {}): JsonSchema => ({ type: 'string', description, ...extra });

/** The structured CloudEvents 1.0 envelope around one type's data. */
function envelopeSchema(type: string, dataschema: string, data: JsonSchema): JsonSchema {
  return {
    type: 'object',
    required: ['specversion', 'id', 'source', 'type', 'time', 'data'],
    properties: {
      specversion: { type: 'string', const: '1.0' },
      id: optionalString('UUIDv7, unique per event; the same id is stored once.'),
      source: optionalString('Producer, e.g. `/services/orders`.'),
      type: { type: 'string', const: type },
      subject: optionalString('`<noun>/<key>`, from the catalog key.'),
      time: optionalString('When it happened.', { format: 'date-time' }),
      datacontenttype: { type: 'string', const: 'application/json' },
      dataschema: { type: 'string', const: dataschema },
      data,
      sequence: { type: 'integer', minimum: 0, description: 'Log position, set by the bus.' },
      recordedtime: optionalString('When the bus stored it, set by the bus.', { format: 'date-time' }),
      partitionkey: optionalString('Ordering key.'),
      traceparent: optionalString('W3C trace context.'),
      tracestate: optionalString('W3C trace context.'),
      correlationid: optionalString('The business transaction the event belongs to.'),
      causationid: optionalString('The id of the event that caused this one.'),
    },
  };
}

/** An AsyncAPI 3.0.0 document of every catalog type. */
export function asyncApiDocument(options: AsyncApiOptions = {}): AsyncApiDocument {
  const channels: Record<string, JsonSchema> = {};
  const operations: Record<string, JsonSchema> = {};
  const messages: Record<string, JsonSchema> = {};

  for (const entry of [...catalog].sort((a, b) => a.type.localeCompare(b.type))) {
    const id = idOf(entry.type);
    const messageId = `${id}.v${entry.version}`;
    const dataschema = dataschemaOf(entry);
    messages[messageId] = {
      name: entry.type,
      title: `${entry.type} v${entry.version}`,
      summary: entry.description,
      contentType: 'application/cloudevents+json',
      correlationId: { location: '$message.payload#/correlationid' },
      payload: envelopeSchema(entry.type, dataschema, jsonSchemaOf(entry.schema)),
      tags: [{ name: entry.producer }, { name: entry.kind }, { name: entry.urgency }],
      'x-flamingo': {
        version: entry.version,
        producer: entry.producer,
        kind: entry.kind,
        key: [...entry.key],
        subject: entry.subject,
        urgency: entry.urgency,
        personalData: [...entry.personalData],
        secrets: [...(entry.secrets ?? [])],
        aliases: [...entry.aliases],
      },
    };
    channels[id] = {
      address: entry.type,
      title: entry.type,
      description: entry.description,
      messages: { [messageId]: { $ref: `#/components/messages/${messageId}` } },
    };
    const channel = { $ref: `#/channels/${id}` };
    const channelMessages = [{ $ref: `#/channels/${id}/messages/${messageId}` }];
    operations[`${id}.receive`] = {
      action: 'receive',
      channel,
      messages: channelMessages,
      summary: `A ${entry.producer} producer publishes ${entry.type}; Flamingo stores it.`,
    };
    operations[`${id}.send`] = {
      action: 'send',
      channel,
      messages: channelMessages,
      summary: `Flamingo delivers ${entry.type} to every subscription that names it.`,
    };
    for (const reader of readersOf(entry.type, options.contracts ?? [])) {
      const fields = reader.pattern ? `takes it whole through ${reader.pattern}, reading no field of data` : `reads ${reader.fields.length > 0 ? reader.fields.join(', ') : 'no field'} of v${reader.version}`;
      operations[`${idOf(reader.consumer)}.${id}.receive`] = {
        action: 'receive',
        channel,
        messages: channelMessages,
        summary: `${reader.consumer} ${fields}.`,
        'x-flamingo-reader': { ...reader, fields: [...reader.fields] },
      };
    }
  }

  const document: Record<string, unknown> = {
    asyncapi: '3.0.0',
    info: {
      title: 'Flamingo events',
      version: options.documentVersion ?? '1.0.0',
      description: 'The event catalog of Flamingo, a typed event backbone for commerce. Every event is a structured CloudEvents 1.0 message.',
    },
    defaultContentType: 'application/cloudevents+json',
  };
  if (options.serverUrl !== undefined) document.servers = { flamingo: serverOf(options.serverUrl) };
  Object.assign(document, { channels, operations, components: { messages } });
  return document as AsyncApiDocument;
}

function serverOf(serverUrl: string): JsonSchema {
  const url = new URL(serverUrl);
  const server: Record<string, unknown> = { host: url.host, protocol: url.protocol.replace(/:$/, '') };
  if (url.pathname && url.pathname !== '/') server.pathname = url.pathname;
  return server;
}
