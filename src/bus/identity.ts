/**
 * Event identity (CloudEvents 1.0, "id": "Producers MUST ensure that source + id is unique for
 * each distinct event. If a duplicate event is re-sent (e.g. due to a network error) it MAY have
 * the same id. Consumers MAY assume that Events with identical source and id are duplicates."):
 * an event is identified by its `source` and `id` together. Two producers that both number their
 * events from 1 (different sources) publish different events; the same `source` + `id` again is a
 * resend of one event.
 *
 * A resend must carry the same content. Content is what the producer said: `data` and every
 * attribute except those the bus or the engine set on the way (`sequence`, `recordedtime`) and the
 * trace context of the sending (`traceparent`, `tracestate`: a retry is a new attempt with its own
 * trace, CloudEvents distributed-tracing extension). A `time` the bus filled in (the producer gave
 * none) is not content either, so a resend that again gives no time matches.
 */
import { createHash } from 'node:crypto';
import type { UnstoredEvent } from '../contracts/index.ts';

/**
 * Marks an envelope whose `time` the bus filled in because the producer gave none. A symbol key:
 * kept by object spread (middleware that copies the envelope), never serialised or stored.
 */
export const TIME_FILLED_IN: unique symbol = Symbol('flamingo.timeFilledIn');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A UUID id in its canonical lower-case form (RFC 9562 §4: UUIDs compare case-insensitively), so
 * the same UUID sent in upper case through one endpoint and lower case through another is one
 * event. Any other id is kept exactly as sent.
 */
export function canonicalId<T extends string | undefined>(id: T): T {
  return (typeof id === 'string' && UUID.test(id) ? id.toLowerCase() : id) as T;
}

const NOT_CONTENT = new Set(['sequence', 'recordedtime', 'traceparent', 'tracestate']);

/** JSON with object keys sorted at every depth, so key order never makes two contents differ. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The identity of an event as one string, for engines that key deduplication on a string (a
 * Redis key, JetStream's `Nats-Msg-Id`): SHA-256 of `[source, id]` as JSON, base64url (43
 * characters), so no source or id can run into another.
 */
export function identityKey(event: Pick<UnstoredEvent, 'source' | 'id'>): string {
  return createHash('sha256').update(JSON.stringify([event.source, event.id])).digest('base64url');
}

/**
 * A digest of the event's content (see the module comment): SHA-256 of its canonical JSON without
 * `sequence`, `recordedtime`, `traceparent`, `tracestate`, and without `time` when the bus filled
 * it in; base64url, 43 characters. Two sends of one event have the same digest.
 */
export function contentDigest(event: UnstoredEvent): string {
  const content: Record<string, unknown> = {};
  const timeFilledIn = (event as { [TIME_FILLED_IN]?: boolean })[TIME_FILLED_IN] === true;
  for (const [name, value] of Object.entries(event)) {
    if (NOT_CONTENT.has(name) || (name === 'time' && timeFilledIn)) continue;
    content[name] = value;
  }
  return createHash('sha256').update(canonicalJson(content)).digest('base64url');
}
