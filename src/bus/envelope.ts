import {
  acceptedVersions,
  dataVersionOf,
  extensionNameProblem,
  extensionValueProblem,
  findDefinition,
  keyOf,
  readTime,
  subjectOf,
  TIME_RULE,
  validateAgainst,
  type UnstoredEvent,
} from '../contracts/index.ts';
import { EventValidationError, UnknownEventTypeError, type EventIssue } from './errors.ts';
import { newEventId } from './event-id.ts';
import { canonicalId, contentDigest, TIME_FILLED_IN } from './identity.ts';
import type { PublishInput } from './types.ts';

/** `source` of events whose producer did not name one. */
export const DEFAULT_SOURCE = '/flamingo';

/** A publish input as it arrives at run time: any type name, data not yet checked. */
export type UncheckedPublishInput = Omit<PublishInput, 'type' | 'data'> & { readonly type: string; readonly data: unknown };

const OPTIONAL_STRINGS = ['subject', 'partitionkey', 'traceparent', 'tracestate', 'correlationid', 'causationid'] as const;

function addIssue(issues: EventIssue[], index: number | undefined, path: string, message: string): void {
  issues.push(index === undefined ? { path, message } : { index, path, message });
}

/**
 * Checks one input against the catalog and builds its envelope; issues are collected into `issues`
 * (with `index` when given) and `undefined` is returned when there are any.
 */
function build(input: UncheckedPublishInput, source: string, issues: EventIssue[], index: number | undefined): UnstoredEvent | undefined {
  if (typeof input !== 'object' || input === null) {
    addIssue(issues, index, '', 'must be an object');
    return undefined;
  }
  const definition = findDefinition(input.type);
  if (!definition) throw new UnknownEventTypeError(String(input.type), index);
  const before = issues.length;
  const dataVersion = dataVersionOf(definition, typeof input.dataschema === 'string' ? input.dataschema : undefined);
  if (input.dataschema !== undefined && (typeof input.dataschema !== 'string' || !dataVersion)) {
    const accepted = acceptedVersions(definition).map((v) => JSON.stringify(v.dataschema));
    addIssue(issues, index, '/dataschema', `must be ${accepted.join(' or ')} (the versions of ${definition.type} accepted now) or left out`);
  }
  for (const issue of dataVersion ? validateAgainst(dataVersion.schema, input.data) : []) addIssue(issues, index, issue.path === '/' ? '/data' : `/data${issue.path}`, issue.message);
  if (input.id !== undefined && (typeof input.id !== 'string' || input.id.length === 0 || input.id.length > 256)) addIssue(issues, index, '/id', 'must be a string of 1 to 256 characters');
  if (input.source !== undefined && (typeof input.source !== 'string' || input.source.length === 0)) addIssue(issues, index, '/source', 'must be a non-empty string');
  if (input.time !== undefined && readTime(input.time, { form: 'rfc3339' }) === undefined) addIssue(issues, index, '/time', TIME_RULE.rfc3339);
  for (const name of OPTIONAL_STRINGS) {
    const value = input[name];
    if (value !== undefined && typeof value !== 'string') addIssue(issues, index, `/${name}`, 'must be a string');
  }
  const extensions = input.extensions;
  if (extensions !== undefined) {
    if (typeof extensions !== 'object' || extensions === null || Array.isArray(extensions)) addIssue(issues, index, '/extensions', 'must be an object of extension attributes');
    else {
      for (const [name, value] of Object.entries(extensions)) {
        const problem = extensionNameProblem(name) ?? extensionValueProblem(value);
        if (problem !== undefined) addIssue(issues, index, `/${name}`, problem);
      }
    }
  }
  if (issues.length > before) return undefined;

  // Built attribute by attribute so the stored JSON reads in CloudEvents order without undefined keys.
  const event = { specversion: '1.0', id: canonicalId(input.id) ?? newEventId(), source: input.source ?? source, type: definition.type } as UnstoredEvent;
  const subject = input.subject ?? subjectOf(definition, input.data);
  if (subject !== undefined) event.subject = subject;
  if (input.time !== undefined) event.time = input.time;
  else {
    event.time = new Date().toISOString();
    // Not content: a resend that again gives no time is the same event (identity.ts).
    (event as { [TIME_FILLED_IN]?: boolean })[TIME_FILLED_IN] = true;
  }
  event.datacontenttype = 'application/json';
  event.dataschema = dataVersion!.dataschema;
  event.data = input.data;
  const partitionkey = input.partitionkey ?? keyOf(definition, input.data);
  if (partitionkey !== undefined) event.partitionkey = partitionkey;
  if (input.traceparent !== undefined) event.traceparent = input.traceparent;
  if (input.tracestate !== undefined) event.tracestate = input.tracestate;
  if (input.correlationid !== undefined) event.correlationid = input.correlationid;
  if (input.causationid !== undefined) event.causationid = input.causationid;
  // Extensions are top-level attributes, as in the CloudEvents JSON format; their names were checked above.
  if (extensions !== undefined) for (const [name, value] of Object.entries(extensions)) (event as unknown as Record<string, unknown>)[name] = value;
  return event;
}

/**
 * Validates one publish input against the catalog and builds its CloudEvents envelope: canonical
 * `type` (aliases resolved), UUIDv7 `id`, `time` now, `subject`/`partitionkey` from the catalog key.
 * Throws `UnknownEventTypeError` or `EventValidationError` (paths relative to the event, `/data/…`).
 */
export function buildEvent(input: UncheckedPublishInput, source: string = DEFAULT_SOURCE): UnstoredEvent {
  const issues: EventIssue[] = [];
  const event = build(input, source, issues, undefined);
  if (!event) throw new EventValidationError(issues);
  return event;
}

/**
 * An identity (`source` + `id`) given twice in one call with other content would store one event
 * and silently drop the other: refused instead, naming the later one. Two copies of one event are
 * valid (CloudEvents batch format); the engine answers the second as a duplicate. The same id
 * under two sources is two events.
 */
function repeatedIds(events: readonly UnstoredEvent[], issues: EventIssue[]): void {
  const first = new Map<string, { index: number; digest: string }>();
  events.forEach((event, index) => {
    const identity = JSON.stringify([event.source, event.id]);
    const earlier = first.get(identity);
    if (earlier === undefined) first.set(identity, { index, digest: contentDigest(event) });
    else if (earlier.digest !== contentDigest(event)) {
      addIssue(issues, index, '/id', `repeats the id of event ${earlier.index} (same source) with other content; each event of a batch needs its own id`);
    }
  });
}

/** Like `buildEvent` for many inputs, all or none: every issue of every input, each with its `index`. */
export function buildEvents(inputs: readonly UncheckedPublishInput[], source: string = DEFAULT_SOURCE): UnstoredEvent[] {
  const issues: EventIssue[] = [];
  const events: UnstoredEvent[] = [];
  for (let index = 0; index < inputs.length; index++) {
    const event = build(inputs[index], source, issues, index);
    if (event) events.push(event);
  }
  if (issues.length === 0) repeatedIds(events, issues);
  if (issues.length > 0) throw new EventValidationError(issues);
  return events;
}
