/**
 * The catalog as plain JSON (what `GET /v1/catalog` returns): metadata plus JSON Schema per type.
 */
import type { TSchema } from '@sinclair/typebox';
import { catalog, type CatalogEntry } from './catalog/index.ts';
import { publishedByOf, type EventKind, type PublishedBy, type Urgency } from './define.ts';
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

/** One catalog entry as a document entry. */
export function documentEntryOf(entry: CatalogEntry): CatalogDocumentEntry {
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
  };
}

/** Every type of the catalog with its metadata and JSON Schema, sorted by type. */
export function catalogDocument(): CatalogDocument {
  const types = [...catalog].sort((a, b) => a.type.localeCompare(b.type)).map(documentEntryOf);
  return { envelope: 'cloudevents/1.0', types };
}
