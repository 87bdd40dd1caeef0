/**
 * The seed's Flamingo envelope (seed 000, pydantic `EventEnvelope`) mapped to a catalog event, so
 * the existing Python producers can `POST /event` unchanged (DESIGN.md "Seed compatibility").
 *
 *     {"event_id": "<uuid>", "stamp": "<datetime>",
 *      "event": {"event_name": "item_added_to_cart", "event_time": "<datetime>", ...data}}
 */
import type { EventType } from './catalog/index.ts';
import { PROTOTYPE_NAMES, prototypeNameMessage } from './prototype-names.ts';
import { findDefinition, validateData, type ValidationIssue } from './validate.ts';
import { readTime } from './time.ts';

/** An event read from a seed envelope, ready to be published. */
export interface SeedEvent {
  /** `event_id`, lower case. */
  readonly id: string;
  /** The canonical type `event_name` resolves to (it may be an alias). */
  readonly type: EventType;
  /** `event_time` as RFC 3339; a naive datetime is taken as UTC. */
  readonly time: string;
  /** Every field of `event` except `event_name` and `event_time`. */
  readonly data: Record<string, unknown>;
  /** `stamp` as RFC 3339 (the seed's creation stamp, the envelope's `recordedtime`); absent when not sent. */
  readonly stamp?: string;
}

export type SeedEnvelopeResult =
  | { readonly ok: true; readonly event: SeedEvent }
  /**
   * 400: the body is not a seed envelope (wrong shape, a missing or malformed id or datetime, an
   * event field named `__proto__`, `constructor` or `prototype`).
   * 422: a well-formed envelope Flamingo cannot process (unknown `event_name`, or `data` that
   * breaks its schema when `validateData` is on). `issues` name each path in the body.
   */
  | { readonly ok: false; readonly status: 400 | 422; readonly issues: readonly ValidationIssue[] };

export interface SeedEnvelopeOptions {
  /**
   * Also check `data` against its type's schema, reporting paths inside the body
   * (`/event/items/0`). Leave off when the bus validates on publish. (Default: false)
   */
  readonly validateData?: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * An RFC 3339 timestamp from a pydantic datetime, keeping the fraction as written; a datetime
 * without offset is UTC (pydantic's `datetime.utcnow()` is naive). Undefined when invalid.
 */
export function normalizeSeedDatetime(value: string): string | undefined {
  return readTime(value, { form: 'utc' });
}

/** A JSON pointer inside `data` as the same place inside a seed body: `/items/0` → `/event/items/0`. */
export function seedPathOf(dataPath: string): string {
  return dataPath === '/' || dataPath === '' ? '/event' : `/event${dataPath}`;
}

/** Maps a `POST /event` body to a catalog event, or names what is wrong with it. */
export function fromSeedEnvelope(body: unknown, options: SeedEnvelopeOptions = {}): SeedEnvelopeResult {
  if (!isRecord(body)) return { ok: false, status: 400, issues: [{ path: '/', message: 'must be a JSON object (the seed envelope)' }] };
  const issues: ValidationIssue[] = [];

  const eventId = body.event_id;
  if (eventId === undefined) issues.push({ path: '/event_id', message: 'is required' });
  else if (typeof eventId !== 'string' || !UUID.test(eventId)) issues.push({ path: '/event_id', message: 'must be a UUID' });

  let stamp: string | undefined;
  if (body.stamp !== undefined && body.stamp !== null) {
    stamp = typeof body.stamp === 'string' ? normalizeSeedDatetime(body.stamp) : undefined;
    if (stamp === undefined) issues.push({ path: '/stamp', message: 'must be an ISO 8601 datetime' });
  }

  const event = body.event;
  let time: string | undefined;
  let name: string | undefined;
  if (event === undefined) issues.push({ path: '/event', message: 'is required' });
  else if (!isRecord(event)) issues.push({ path: '/event', message: 'must be an object' });
  else {
    if (event.event_name === undefined) issues.push({ path: '/event/event_name', message: 'is required' });
    else if (typeof event.event_name !== 'string' || event.event_name === '') issues.push({ path: '/event/event_name', message: 'must be a non-empty string' });
    else name = event.event_name;

    if (event.event_time === undefined) issues.push({ path: '/event/event_time', message: 'is required' });
    else {
      time = typeof event.event_time === 'string' ? normalizeSeedDatetime(event.event_time) : undefined;
      if (time === undefined) issues.push({ path: '/event/event_time', message: 'must be an ISO 8601 datetime' });
    }
  }
  if (issues.length > 0 || !isRecord(event) || name === undefined || time === undefined) {
    return { ok: false, status: 400, issues };
  }

  const definition = findDefinition(name);
  if (!definition) {
    return { ok: false, status: 422, issues: [{ path: '/event/event_name', message: `unknown event name ${JSON.stringify(name)}` }] };
  }
  // A null-prototype object: a field named `__proto__` stays a field instead of becoming the prototype.
  const data: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  const names: ValidationIssue[] = [];
  for (const [field, value] of Object.entries(event)) {
    if (PROTOTYPE_NAMES.has(field)) names.push({ path: `/event/${field}`, message: prototypeNameMessage(field) });
    else if (field !== 'event_name' && field !== 'event_time') data[field] = value;
  }
  if (names.length > 0) return { ok: false, status: 400, issues: names };
  if (options.validateData) {
    const dataIssues = validateData(definition, data);
    if (dataIssues.length > 0) {
      return { ok: false, status: 422, issues: dataIssues.map((i) => ({ path: seedPathOf(i.path), message: i.message })) };
    }
  }
  const seedEvent: SeedEvent = { id: (eventId as string).toLowerCase(), type: definition.type, time, data, ...(stamp ? { stamp } : {}) };
  return { ok: true, event: seedEvent };
}
