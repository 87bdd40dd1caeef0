/**
 * The catalog as plain JSON (what `GET /v1/catalog` returns): metadata plus JSON Schema per type.
 */
import type { TSchema } from '@sinclair/typebox';
import { catalog, type CatalogEntry } from './catalog/index.ts';
import { publishedByOf, type EventKind, type PublishedBy, type Urgency } from './define.ts';
import type { ConsumerContract } from './reads.ts';
import { matchesTypePattern } from './type-pattern.ts';
import { dataschemaOf } from './validate.ts';

/** A JSON Schema object as plain JSON. */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** One event type as published in the catalog document. */
export interface CatalogDocumentEntry {
  readonly type: string;
  readonly version: number;
  /** `flamingo:<type>/v<version>`, the envelope's `dataschema`. */
  readonly dataschema: string;
  readonly producer: string;
  /** Who may publish it over HTTP: a key scoped to `producer`, or `anyone` (any key; keyless where allowed). */
  readonly publishedBy: PublishedBy;
  readonly kind: EventKind;
  readonly key: readonly string[];
  readonly subject: string;
  readonly urgency: Urgency;
  readonly description: string;
  readonly personalData: readonly string[];
  readonly secrets: readonly string[];
  readonly aliases: readonly string[];
  /** JSON Schema (draft 07 compatible) of `data`. */
  readonly schema: JsonSchema;
  /** Who publishes it: the catalog producer (issue 14). */
  readonly producers: readonly string[];
  /** Who reads it and which fields (issue 14), from the consumer contracts; a reader through a pattern (`*`) reads no field. */
  readonly readers: readonly TypeReader[];
}

/** One consumer of a type, as its contract declares. */
export interface TypeReader {
  readonly consumer: string;
  /** The version it was built against; absent for a reader through a pattern. */
  readonly version?: number;
  readonly fields: readonly string[];
  /** The pattern it subscribes through (`*`, `order.*`), when it names no type. */
  readonly pattern?: string;
}

/** Every reader of `type` among `contracts`, by consumer. */
export function readersOf(type: string, contracts: readonly ConsumerContract[]): TypeReader[] {
  const readers: TypeReader[] = [];
  for (const contract of contracts) {
    for (const read of contract.reads) {
      if (read.type === type) readers.push({ consumer: contract.consumer, ...(read.version === undefined ? {} : { version: read.version }), fields: [...read.fields] });
      else if (read.type.includes('*') && matchesTypePattern(read.type, type)) readers.push({ consumer: contract.consumer, fields: [], pattern: read.type });
    }
  }
  return readers.sort((a, b) => a.consumer.localeCompare(b.consumer));
}

export interface CatalogDocument {
  /** The envelope every event travels in. */
  readonly envelope: 'cloudevents/1.0';
  readonly types: readonly CatalogDocumentEntry[];
}

/** A TypeBox schema as plain JSON Schema: the round trip drops TypeBox's symbol keys. */
export function jsonSchemaOf(schema: TSchema): JsonSchema {
  return JSON.parse(JSON.stringify(schema)) as JsonSchema;
}

/** One catalog entry as a document entry, with its readers among `contracts`. */
export function documentEntryOf(entry: CatalogEntry, contracts: readonly ConsumerContract[] = []): CatalogDocumentEntry {
  return {
    type: entry.type,
    version: entry.version,
    dataschema: dataschemaOf(entry),
    producer: entry.producer,
    publishedBy: publishedByOf(entry),
    kind: entry.kind,
    key: [...entry.key],
    subject: entry.subject,
    urgency: entry.urgency,
    description: entry.description,
    personalData: [...entry.personalData],
    secrets: [...(entry.secrets ?? [])],
    aliases: [...entry.aliases],
    schema: jsonSchemaOf(entry.schema),
    producers: [entry.producer],
    readers: readersOf(entry.type, contracts),
  };
}

/** Every type of the catalog with its metadata, JSON Schema, producers and readers (among `contracts`), sorted by type. */
export function catalogDocument(contracts: readonly ConsumerContract[] = []): CatalogDocument {
  const types = [...catalog].sort((a, b) => a.type.localeCompare(b.type)).map((entry) => documentEntryOf(entry, contracts));
  return { envelope: 'cloudevents/1.0', types };
}
