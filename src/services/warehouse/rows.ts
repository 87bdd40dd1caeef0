/**
 * What one event becomes in the warehouse: a row of the wide `events` table. Secrets never reach
 * it and personal data is pseudonymised, removed or kept as configured — both through the one
 * redaction step of the catalog (`src/contracts/redaction.ts`).
 */
import { createHmac } from 'node:crypto';
import { findDefinition, redactData, type CloudEvent, type RedactionPolicy } from '../../contracts/index.ts';

/** One row of `events`; times are RFC 3339 strings, `data` is JSON text. */
export interface EventRow {
  readonly id: string;
  readonly type: string;
  readonly version: number;
  readonly source: string;
  readonly subject: string | null;
  /** The ordering key (`partitionkey`). */
  readonly key: string | null;
  /** The catalog's producer of the type (null for a type the catalog does not know). */
  readonly producer: string | null;
  readonly time: string;
  readonly recordedTime: string;
  readonly sequence: number;
  readonly correlationId: string | null;
  readonly causationId: string | null;
  readonly data: string;
}

/** The columns of `events`, in table order. */
export const EVENT_COLUMNS = [
  'id',
  'type',
  'version',
  'source',
  'subject',
  'key',
  'producer',
  'time',
  'recorded_time',
  'sequence',
  'correlation_id',
  'causation_id',
  'data',
] as const;

/**
 * How personal data (the catalog's `personalData` fields) lands:
 * `pseudonymise` — a keyed hash (HMAC-SHA-256 under the pseudonym key), equal values give equal
 * pseudonyms so they can still be counted and joined, but not read back; `remove` — left out;
 * `keep` — as it is.
 */
export type PersonalDataPolicy = 'pseudonymise' | 'remove' | 'keep';

export interface RowOptions {
  readonly personalData: PersonalDataPolicy;
  /** The key of the keyed hash (needed with `pseudonymise`). */
  readonly pseudonymKey: string;
}

/** Pseudonyms remembered per warehouse: the same e-mail or address recurs in many events. */
const PSEUDONYM_CACHE = 100_000;

/**
 * `ps_` + 22 base64url characters (128 bits) of HMAC-SHA-256(key, JSON of the value). The last
 * `PSEUDONYM_CACHE` values are remembered (an HMAC costs microseconds; a rebuild meets the same
 * customers' data again and again).
 */
export function pseudonymiser(key: string): (value: unknown) => string {
  const recent = new Map<string, string>();
  return (value) => {
    const text = JSON.stringify(value) ?? 'null';
    const known = recent.get(text);
    if (known !== undefined) return known;
    const pseudonym = 'ps_' + createHmac('sha256', key).update(text).digest('base64url').slice(0, 22);
    // Oldest first in a Map: past the limit, forget the oldest.
    if (recent.size >= PSEUDONYM_CACHE) recent.delete(recent.keys().next().value as string);
    recent.set(text, pseudonym);
    return pseudonym;
  };
}

/** Turns events into rows; one per warehouse (the key and policy do not change while it runs). */
export function rowMaker(options: RowOptions): (event: CloudEvent) => EventRow {
  const personal: RedactionPolicy =
    options.personalData === 'pseudonymise' ? pseudonymiser(options.pseudonymKey) : options.personalData === 'remove' ? 'remove' : 'keep';
  return (event) => {
    const definition = findDefinition(event.type);
    const data = redactData(event.type, event.data, { secrets: 'remove', personalData: personal });
    return {
      id: event.id,
      type: definition?.type ?? event.type,
      version: versionOf(event.dataschema) ?? definition?.version ?? 1,
      source: event.source,
      subject: event.subject ?? null,
      key: event.partitionkey ?? null,
      producer: definition?.producer ?? null,
      time: event.time,
      recordedTime: event.recordedtime,
      sequence: event.sequence,
      correlationId: event.correlationid ?? null,
      causationId: event.causationid ?? null,
      data: JSON.stringify(data ?? null),
    };
  };
}

/** Versions of the dataschemas met so far (a few per type). */
const VERSIONS = new Map<string, number | undefined>();

/** The version of a `flamingo:<type>/v<n>` dataschema. */
function versionOf(dataschema: string | undefined): number | undefined {
  if (!dataschema) return undefined;
  if (VERSIONS.has(dataschema)) return VERSIONS.get(dataschema);
  const match = /\/v(\d+)$/.exec(dataschema);
  const version = match ? Number(match[1]) : undefined;
  // Dataschemas come from producers: remember a bounded number.
  if (VERSIONS.size < 10_000) VERSIONS.set(dataschema, version);
  return version;
}
