import { PROTOTYPE_NAMES, prototypeNameMessage } from './prototype-names.ts';

/**
 * The CloudEvents 1.0 envelope (structured JSON) with Flamingo's extensions, see DESIGN.md "Events".
 */

/** An event as it travels on the bus once stored: every field the engine assigns is present. */
export interface CloudEvent<T extends string = string, D = unknown> {
  specversion: '1.0';
  /** UUIDv7, unique per event; publishing the same id twice stores it once. */
  id: string;
  /** Who produced it, a URI reference such as `/services/orders` or `/collector`. */
  source: string;
  type: T;
  /** What the event is about, `<noun>/<key>` (e.g. `order/0190…`); derived from the catalog key. */
  subject?: string;
  /** When it happened (the seed's `event_time`), RFC 3339. */
  time: string;
  datacontenttype: 'application/json';
  /** `flamingo:<type>/v<version>`; changes when the schema changes incompatibly. */
  dataschema?: string;
  data: D;
  /** Log position, assigned by the engine; strictly increasing within one log. */
  sequence: number;
  /** When the bus stored it (the seed's `stamp`), RFC 3339. */
  recordedtime: string;
  /** The ordering key: events with the same key reach a subscription in log order. */
  partitionkey?: string;
  traceparent?: string;
  tracestate?: string;
  correlationid?: string;
  causationid?: string;
}

/** An event before the engine stored it: no sequence and no recorded time yet. */
export type UnstoredEvent<T extends string = string, D = unknown> = Omit<CloudEvent<T, D>, 'sequence' | 'recordedtime'>;

/** The envelope attributes a producer may set; everything but `type` and `data` has a default. */
export const ENVELOPE_ATTRIBUTES = [
  'specversion',
  'id',
  'source',
  'type',
  'subject',
  'time',
  'datacontenttype',
  'dataschema',
  'data',
  'sequence',
  'recordedtime',
  'partitionkey',
  'traceparent',
  'tracestate',
  'correlationid',
  'causationid',
] as const;

/** The value of an extension attribute in the JSON format: a string, an integer or a boolean. */
export type ExtensionValue = string | number | boolean;

/**
 * A valid extension attribute name (CloudEvents 1.0, "Attribute Naming Convention"): lower-case
 * ASCII letters and digits only. The spec asks for at most 20 characters (SHOULD); 64 are accepted
 * so that a producer that exceeds the advice is not cut off, while a hostile name stays bounded.
 */
export const EXTENSION_NAME = /^[a-z0-9]{1,64}$/;
/** Names that are not extensions: the envelope's own attributes, and the binary-data member of the JSON format. */
const NOT_EXTENSIONS = new Set<string>([...ENVELOPE_ATTRIBUTES, 'data_base64']);
/** CloudEvents `Integer`: a signed 32-bit whole number. */
const INT32 = { min: -2_147_483_648, max: 2_147_483_647 };

/** Why `name` cannot be an extension attribute, or `undefined` when it can. */
export function extensionNameProblem(name: string): string | undefined {
  if (NOT_EXTENSIONS.has(name)) return `is a CloudEvents attribute, not an extension`;
  if (PROTOTYPE_NAMES.has(name)) return prototypeNameMessage(name);
  if (!EXTENSION_NAME.test(name)) return 'is not a valid attribute name: 1–64 lower-case letters a–z and digits 0–9 (CloudEvents 1.0 naming convention)';
  return undefined;
}

/** Why `value` cannot be an extension attribute's value, or `undefined` when it can. */
export function extensionValueProblem(value: unknown): string | undefined {
  if (typeof value === 'boolean') return undefined;
  if (typeof value === 'string') return value.length <= 4096 ? undefined : 'must be at most 4 096 characters';
  if (typeof value === 'number') return Number.isInteger(value) && value >= INT32.min && value <= INT32.max ? undefined : 'must be a string, a boolean or a 32-bit integer';
  return 'must be a string, a boolean or a 32-bit integer (CloudEvents extension attribute types)';
}

/**
 * The extension attributes of a stored event (every top-level attribute that is not one of the
 * envelope's own), in the order they were stored; `{}` when there are none. Extensions travel as
 * top-level attributes, as in the CloudEvents JSON format, so handlers, reads and deliveries see them.
 */
export function extensionsOf(event: UnstoredEvent | CloudEvent): Record<string, ExtensionValue> {
  const extensions: Record<string, ExtensionValue> = {};
  for (const [name, value] of Object.entries(event)) if (!NOT_EXTENSIONS.has(name)) extensions[name] = value as ExtensionValue;
  return extensions;
}
