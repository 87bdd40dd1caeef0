import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { PublishResult } from '../bus/index.ts';
import { unprocessable } from '../platform/errors.ts';
import { binaryEvent, isBinaryMode } from './binary.ts';
import { collect } from './collect.ts';
import { arrayElementBytes, eventBytes } from './spans.ts';
import { fromBusError } from './bus-errors.ts';
import type { CollectorDeps } from './deps.ts';
import { documentedOnly, errors } from '../platform/http-schemas.ts';
import { Accepted, IncomingCloudEvent } from './schemas.ts';

const EXACT_MEDIA_TYPES = new Set(['application/json', 'application/cloudevents+json', 'application/cloudevents-batch+json']);
const mediaTypeOf = (request: FastifyRequest) => {
  const header = request.headers['content-type'] ?? '';
  return EXACT_MEDIA_TYPES.has(header) ? header : header.split(';')[0].trim().toLowerCase();
};
const sizeOf = (value: unknown) => Buffer.byteLength(JSON.stringify(value) ?? '');

/**
 * The size of each element of a batch, each serialised at most once. An element's text is part of
 * the body, so a body within the limit holds no element over it and nothing is serialised: each
 * size is then given as the body's, an upper bound (the same measure as for a single event).
 * In a bigger body, an element whose text is within the limit is given as that (serialising it
 * would not make it longer); only the others are serialised, to be measured exactly.
 */
function batchSizes(request: FastifyRequest, elements: readonly unknown[], maxEventBytes: number): number[] {
  if (request.bodyBytes <= maxEventBytes) return new Array<number>(elements.length).fill(request.bodyBytes);
  const texts = request.bodyBuffer ? arrayElementBytes(request.bodyBuffer) : undefined;
  if (texts?.length !== elements.length) return elements.map(sizeOf);
  for (let i = 0; i < texts.length; i++) if (texts[i] < 0 || texts[i] > maxEventBytes) texts[i] = sizeOf(elements[i]);
  return texts;
}

const batchPath = (i: number | undefined) => (i === undefined ? '' : `/${i}`);

/** What one request carries: its events, their sizes, and whether it is a batch. */
function eventsOf(request: FastifyRequest, maxEventBytes: number): { events: unknown[]; sizes: number[]; batch: boolean } {
  const body = request.body;
  const media = mediaTypeOf(request);
  if (media === 'application/cloudevents-batch+json') {
    if (!Array.isArray(body)) throw unprocessable('invalid_batch', 'a batch must be a JSON array of CloudEvents', [{ path: '/', message: 'must be an array' }]);
    return { events: body, sizes: batchSizes(request, body, maxEventBytes), batch: true };
  }
  if (media !== 'application/cloudevents+json' && isBinaryMode(request.headers)) {
    // The attributes count too: the event as stored holds them beside `data`.
    const event = binaryEvent(request.headers, body);
    return { events: [event], sizes: [sizeOf(event)], batch: false };
  }
  // application/json without ce-* headers: one structured event, or an array as a batch.
  if (media !== 'application/cloudevents+json' && Array.isArray(body)) return { events: body, sizes: batchSizes(request, body, maxEventBytes), batch: true };
  return { events: [body], sizes: [eventBytes(body, request.bodyBytes, maxEventBytes)], batch: false };
}

/** `POST /v1/events`: the HTTP collector (CloudEvents structured, binary and batch modes). */
export function eventsCollectorRoutes(app: FastifyInstance, deps: CollectorDeps): void {
  const { bus, guard, metrics, limits } = deps;
  const count = (type: string, result: PublishResult) => {
    if (!result.duplicate) metrics.eventsPublished.inc({ type });
  };

  app.post(
    '/v1/events',
    {
      config: { auth: 'key' },
      ...documentedOnly({
        tags: ['collector'],
        summary: 'Publish events',
        description: [
          'CloudEvents over HTTP in three modes:',
          '- structured: `Content-Type: application/cloudevents+json`, one event as JSON;',
          '- binary: `Content-Type: application/json`, attributes in `ce-*` headers, the body is `data`;',
          '- batch: `Content-Type: application/cloudevents-batch+json`, an array of up to 1 000 events, stored all or none;',
          '  an empty array answers 202 with no events; an id given twice in one batch is refused (422 naming `/<index>/id`).',
          '',
          'Answers 202 once the events are durable. An event is identified by `source` + `id` (CloudEvents); a UUID id is stored in lower case.',
          'Publishing the same event again answers 202 with the first sequence (`duplicate: true`, idempotent); the same `source` + `id`',
          'with other content (data or attributes, not `traceparent`/`tracestate`) answers 409 naming the stored sequence.',
          'Nothing is stored on any error: 400 malformed JSON, a body or header that is not UTF-8, nesting past 32 levels, a NUL',
          'character or a field named __proto__, constructor or prototype; 401 no valid key, 403 a type the key may not publish,',
          '413 an event over 64 KiB or a body over 4 MiB, 415 another content type, 422 an unknown type or a schema violation',
          '(each problem names its path, prefixed with `/<index>` in a batch).',
        ].join('\n'),
        consumes: ['application/cloudevents+json', 'application/cloudevents-batch+json', 'application/json'],
        body: Type.Union([IncomingCloudEvent, Type.Array(IncomingCloudEvent, { maxItems: limits.maxBatch })]),
        response: {
          202: Type.Union([Accepted, Type.Object({ events: Type.Array(Accepted) })]),
          ...errors(400, 401, 403, 409, 413, 415, 422),
        },
      }),
    },
    async (request, reply) => {
      const { events, sizes, batch } = eventsOf(request, limits.maxEventBytes);
      const inputs = collect(events, sizes, {
        batch,
        principal: request.principal,
        guard,
        limits,
        defaults: { traceparent: request.headers.traceparent as string | undefined },
      });
      if (!batch) {
        let result: PublishResult;
        try {
          result = await bus.publish(inputs[0]);
        } catch (error) {
          throw fromBusError(error);
        }
        count(inputs[0].type, result);
        request.log.debug({ id: result.id, type: inputs[0].type, sequence: result.sequence }, 'event published');
        return reply.status(202).send({ id: result.id, sequence: result.sequence, duplicate: result.duplicate });
      }
      let results: PublishResult[];
      try {
        results = await bus.publishAll(inputs);
      } catch (error) {
        throw fromBusError(error, batchPath);
      }
      const accepted = new Array<{ id: string; sequence: number; duplicate: boolean }>(results.length);
      for (let i = 0; i < results.length; i++) {
        const r = results[i];
        count(inputs[i].type, r);
        accepted[i] = { id: r.id, sequence: r.sequence, duplicate: r.duplicate };
      }
      return reply.status(202).send({ events: accepted });
    },
  );
}
