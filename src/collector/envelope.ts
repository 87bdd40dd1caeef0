import type { PublishInput } from '../bus/index.ts';
import { acceptedVersions, dataVersionOf, extensionNameProblem, readTime, TIME_RULE, extensionValueProblem, findDefinition, validateAgainst, type CatalogEntry, type ExtensionValue } from '../contracts/index.ts';
import type { ProblemDetail } from '../platform/errors.ts';

/** A CloudEvent read from a request, its type resolved against the catalog, `data` not yet checked. */
export interface Candidate {
  /** Where the event sits in the body: `''` for a single event, `/3` for the fourth of a batch. */
  readonly at: string;
  readonly definition: CatalogEntry;
  readonly input: PublishInput;
}

/** What reading one event found. */
export type ReadResult =
  | { readonly ok: true; readonly candidate: Candidate }
  /** `unknownType` when the only trouble is a type the catalog does not know. */
  | { readonly ok: false; readonly issues: readonly ProblemDetail[]; readonly unknownType: boolean };

/** Defaults for attributes the producer left out. */
export interface ReadDefaults {
  /** The request's `traceparent` header, used when the event has none. */
  readonly traceparent?: string;
}

const STRING_ATTRIBUTES = ['subject', 'partitionkey', 'tracestate', 'correlationid', 'causationid'] as const;
const KNOWN = new Set<string>([
  'specversion', 'id', 'source', 'type', 'subject', 'time', 'datacontenttype', 'dataschema', 'data',
  'partitionkey', 'traceparent', 'tracestate', 'correlationid', 'causationid',
]);
export const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const ID = /^[\x21-\x7e]{1,200}$/;
const JSON_MEDIA_TYPE = /^application\/json\s*(;.*)?$/i;
/** RFC 3986 URI-reference: its characters, percent-encodings, and a valid scheme when it has one. */
const URI_CHARACTERS = /^(?:[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})+$/;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*$/;

/** True for an RFC 3986 URI-reference (absolute, like `https://shop.example/orders` or `urn:…`, or relative, like `/webshop`). */
export function isUriReference(text: string): boolean {
  if (!URI_CHARACTERS.test(text)) return false;
  // A colon before any / ? # ends a scheme; a relative reference's first segment holds none (RFC 3986 §4.2).
  const colon = /^[^/?#]*?:/.exec(text);
  return colon === null || SCHEME.test(colon[0].slice(0, -1));
}
const SOURCE_RULE = 'a non-empty URI reference (RFC 3986) naming the producer, such as /webshop or https://shop.example';
const ID_RULE = '1–200 printable characters without spaces, unique per source (a UUID is best)';
/** `is required: <rule>` when absent, `must be <rule>` when present but wrong. */
const ruleOf = (value: unknown, rule: string) => (value === undefined ? `is required: ${rule}` : `must be ${rule}`);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function addIssue(issues: ProblemDetail[], at: string, attribute: string, message: string): void {
  issues.push({ path: `${at}/${attribute}`, message });
}

/** Copies the string attributes of `from` that are present onto `to` (absent ones stay absent, so the bus applies its defaults). */
function copyStrings(to: Record<string, unknown>, from: Record<string, unknown>, names: readonly string[]): void {
  for (const name of names) if (typeof from[name] === 'string') to[name] = from[name];
}
const COPIED_AFTER_SOURCE = ['time', 'subject', 'partitionkey'] as const;
const COPIED_AFTER_TRACEPARENT = ['tracestate', 'correlationid', 'causationid'] as const;

/**
 * Reads one structured CloudEvent (JSON object) and resolves its type, aliases included. Reports
 * every envelope problem at once, each with its path (`<at>/time`); `data` is checked by `checkData`.
 */
export function readEvent(sent: unknown, at: string, defaults: ReadDefaults = {}): ReadResult {
  const issues: ProblemDetail[] = [];
  if (!isRecord(sent)) return { ok: false, issues: [{ path: at || '/', message: 'must be a CloudEvent (a JSON object)' }], unknownType: false };
  // JSON format 1.0 §2.1: an attribute whose value is null is treated as absent.
  const value = Object.create(null) as Record<string, unknown>;
  for (const name of Object.keys(sent)) if (sent[name] !== null || name === 'data') value[name] = sent[name];

  // Any other attribute is an extension (CloudEvents 1.0): kept when its name and value are valid.
  const extensions = Object.create(null) as Record<string, ExtensionValue>;
  let hasExtensions = false;
  for (const name of Object.keys(value)) {
    if (KNOWN.has(name)) continue;
    if (name === 'sequence' || name === 'recordedtime') addIssue(issues, at, name, 'is assigned by the bus; leave it out');
    else if (name === 'data_base64') addIssue(issues, at, name, 'binary data is not supported; send JSON in "data"');
    else {
      const problem = extensionNameProblem(name) ?? extensionValueProblem(value[name]);
      if (problem !== undefined) addIssue(issues, at, name, problem);
      else {
        extensions[name] = value[name] as ExtensionValue;
        hasExtensions = true;
      }
    }
  }
  if (value.specversion === undefined) addIssue(issues, at, 'specversion', 'is required and must be "1.0"');
  else if (value.specversion !== '1.0') addIssue(issues, at, 'specversion', 'must be "1.0"');
  // CloudEvents: id and source are required, and together identify the event (bus/identity.ts).
  if (typeof value.id !== 'string' || !ID.test(value.id)) addIssue(issues, at, 'id', ruleOf(value.id, ID_RULE));
  if (typeof value.source !== 'string' || !isUriReference(value.source)) addIssue(issues, at, 'source', ruleOf(value.source, SOURCE_RULE));
  if (value.time !== undefined && readTime(value.time, { form: 'rfc3339' }) === undefined) addIssue(issues, at, 'time', TIME_RULE.rfc3339);
  if (value.datacontenttype !== undefined && (typeof value.datacontenttype !== 'string' || !JSON_MEDIA_TYPE.test(value.datacontenttype))) {
    addIssue(issues, at, 'datacontenttype', 'must be application/json');
  }
  if (value.traceparent !== undefined && (typeof value.traceparent !== 'string' || !TRACEPARENT.test(value.traceparent))) {
    addIssue(issues, at, 'traceparent', 'must be a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>)');
  }
  for (const name of STRING_ATTRIBUTES) {
    const v = value[name];
    if (v !== undefined && (typeof v !== 'string' || v.length === 0 || v.length > 512)) addIssue(issues, at, name, 'must be a string of 1–512 characters');
  }
  if (!('data' in value)) addIssue(issues, at, 'data', 'is required');

  let definition: CatalogEntry | undefined;
  let unknownType = false;
  if (value.type === undefined) addIssue(issues, at, 'type', 'is required');
  else if (typeof value.type !== 'string' || value.type.length === 0) addIssue(issues, at, 'type', 'must be a non-empty string');
  else {
    definition = findDefinition(value.type);
    if (!definition) {
      unknownType = true;
      addIssue(issues, at, 'type', `unknown event type ${JSON.stringify(value.type)}; see GET /v1/catalog`);
    } else if (value.dataschema !== undefined && (typeof value.dataschema !== 'string' || !dataVersionOf(definition, value.dataschema))) {
      // The current version, or an older one the catalog keeps deprecated (issue 14).
      const accepted = acceptedVersions(definition).map((v) => JSON.stringify(v.dataschema));
      addIssue(issues, at, 'dataschema', `must be ${accepted.join(' or ')} (the catalog's version${accepted.length > 1 ? 's' : ''} of ${definition.type}) or left out`);
    }
  }

  if (issues.length > 0 || !definition) return { ok: false, issues, unknownType: unknownType && issues.length === 1 };
  const traceparent =
    typeof value.traceparent === 'string' ? value.traceparent : defaults.traceparent && TRACEPARENT.test(defaults.traceparent) ? defaults.traceparent : undefined;
  // Attribute by attribute in the order the bus reads them; absent attributes stay absent, so the bus applies its own defaults.
  // Null-prototype, like everything built from a request: only the attributes named here are copied.
  const input = Object.create(null) as Record<string, unknown>;
  input.type = definition.type;
  input.data = value.data;
  input.id = value.id;
  input.source = value.source;
  copyStrings(input, value, COPIED_AFTER_SOURCE);
  if (traceparent !== undefined) input.traceparent = traceparent;
  copyStrings(input, value, COPIED_AFTER_TRACEPARENT);
  if (typeof value.dataschema === 'string') input.dataschema = value.dataschema;
  if (hasExtensions) input.extensions = extensions;
  return { ok: true, candidate: { at, definition, input: input as unknown as PublishInput } };
}

/** `data` checked against its type's schema; paths are `<at>/data/…`. */
export function checkData(candidate: Candidate): ProblemDetail[] {
  const version = dataVersionOf(candidate.definition, candidate.input.dataschema);
  return (version ? validateAgainst(version.schema, candidate.input.data) : []).map((i) => ({
    path: `${candidate.at}/data${i.path === '/' ? '' : i.path}`,
    message: i.message,
  }));
}
