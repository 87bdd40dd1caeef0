import { isDeepStrictEqual } from 'node:util';
import { canonicalId, type PublishInput } from '../bus/index.ts';
import { forbidden, tooLarge, unprocessable, type ProblemDetail } from '../platform/errors.ts';
import type { Guard, Principal } from '../platform/auth/index.ts';
import { checkData, readEvent, type Candidate, type ReadDefaults } from './envelope.ts';

/** Limits of the collector. */
export interface CollectLimits {
  /** Largest serialized event. (Default: 64 KiB) */
  readonly maxEventBytes: number;
  /** Most events in one batch. (Default: 1 000) */
  readonly maxBatch: number;
}

export const DEFAULT_LIMITS: CollectLimits = { maxEventBytes: 64 * 1024, maxBatch: 1000 };

/** Problems listed in one answer; a batch of 1 000 broken events would otherwise answer megabytes. */
const MAX_DETAIL = 100;

function capped(detail: ProblemDetail[]): ProblemDetail[] {
  if (detail.length <= MAX_DETAIL) return detail;
  return [...detail.slice(0, MAX_DETAIL), { path: '/', message: `and ${detail.length - MAX_DETAIL} more problems` }];
}

/** Two inputs of one identity say the same (the trace context of the sending aside). */
function sameContent(a: PublishInput, b: PublishInput): boolean {
  const content = ({ traceparent: _p, tracestate: _s, id, ...rest }: PublishInput) => ({ ...rest, id: canonicalId(id) });
  return isDeepStrictEqual(content(a), content(b));
}

/**
 * Turns the events of one request into publish inputs, all or none. Checks in this order, so a
 * client learns the cheapest problem first: sizes (413), envelopes and types (422), the key's
 * scope and the types' producers (403), then every `data` against its schema (422). Throws an `ApiError`.
 * @param events one element for a single event; `batch` prefixes every path with `/<index>`.
 * @param sizes the size in bytes of each event, or an upper bound of it (an element of a batch
 *   within the limit is not measured on its own).
 */
export function collect(
  events: readonly unknown[],
  sizes: readonly number[],
  options: { batch: boolean; principal: Principal; guard: Guard; limits?: CollectLimits; defaults?: ReadDefaults },
): PublishInput[] {
  const limits = options.limits ?? DEFAULT_LIMITS;
  const batch = options.batch;

  if (options.batch && events.length > limits.maxBatch) {
    throw tooLarge('batch_too_large', `a batch holds at most ${limits.maxBatch} events; this one has ${events.length}`);
  }
  const oversized: ProblemDetail[] = [];
  sizes.forEach((size, i) => {
    if (size > limits.maxEventBytes) oversized.push({ path: batch ? `/${i}` : '/', message: `the event is ${size} bytes; at most ${limits.maxEventBytes} are accepted` });
  });
  if (oversized.length > 0) throw tooLarge('event_too_large', `an event may be at most ${limits.maxEventBytes} bytes`, capped(oversized));

  const candidates: Candidate[] = [];
  const issues: ProblemDetail[] = [];
  let allUnknownType = true;
  events.forEach((value, i) => {
    const result = readEvent(value, batch ? `/${i}` : '', options.defaults);
    if (result.ok) candidates.push(result.candidate);
    else {
      issues.push(...result.issues);
      allUnknownType &&= result.unknownType;
    }
  });
  // One identity (CloudEvents: source + id, a UUID in any case) twice in a batch: two copies of one
  // event are valid (the second is answered as a duplicate); two different events would silently drop one.
  const firstOf = new Map<string, Candidate>();
  for (const c of candidates) {
    const identity = JSON.stringify([c.input.source, canonicalId(c.input.id)]);
    const earlier = firstOf.get(identity);
    if (earlier === undefined) firstOf.set(identity, c);
    else if (!sameContent(earlier.input, c.input)) {
      issues.push({ path: `${c.at}/id`, message: `repeats the id of event ${earlier.at.slice(1)} (same source) with other content; each event of a batch needs its own id` });
      allUnknownType = false;
    }
  }
  if (issues.length > 0) {
    throw allUnknownType
      ? unprocessable('unknown_event_type', 'the catalog has no such event type', capped(issues))
      : unprocessable('invalid_event', 'the event does not match the CloudEvents envelope', capped(issues));
  }

  // The catalog's producer is enforced (DESIGN.md "Security"): each refusal names the type's producer.
  const denied: ProblemDetail[] = [];
  for (const c of candidates) {
    const refusal = options.guard.publishRefusal(options.principal, c.definition.type);
    if (refusal !== undefined) denied.push({ path: `${c.at}/type`, message: refusal });
  }
  if (denied.length > 0) {
    const message = denied.length === 1 ? `${denied[0].message}; nothing was stored` : 'the API key may not publish some of these event types; nothing was stored';
    throw forbidden(message, capped(denied));
  }

  const dataIssues = candidates.flatMap(checkData);
  if (dataIssues.length > 0) throw unprocessable('invalid_event', 'the event data does not match its schema', capped(dataIssues));
  return candidates.map((c) => c.input);
}
