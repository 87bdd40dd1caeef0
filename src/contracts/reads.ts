/**
 * Declared reads (consumer-driven contracts, seed 003 and issue 14): next to its handler, every
 * subscription declares the event types it takes and the fields of `data` it reads. The declaration
 * is a TypeBox pick of the catalog schema, so the handler's `event.data` is exactly the declared
 * fields (reading another one is a type error), and `flamingo catalog check` knows who reads what.
 */
import { Type, type Static, type TObject, type TPick } from '@sinclair/typebox';
import { catalog, type CatalogEntry, type EventType } from './catalog/index.ts';
import type { CloudEvent } from './envelope.ts';

type SchemaOf<T extends EventType> = Extract<CatalogEntry, { type: T }>['schema'];

/** The top-level field names of `data` of type `T`. */
export type FieldOf<T extends EventType> = keyof Static<SchemaOf<T>> & string;

/** Per event type, the fields of `data` a handler reads (an empty list: the event only, no field). */
export type ReadFields = { readonly [T in EventType]?: readonly FieldOf<T>[] };

type TypesOf<R extends ReadFields> = keyof R & EventType;
type FieldsRead<R extends ReadFields, T extends TypesOf<R>> = R[T] extends readonly (infer F)[] ? F & FieldOf<T> : never;

/** The `data` a handler of declaration `R` sees for type `T`: the TypeBox pick of the catalog schema. */
export type ReadData<R extends ReadFields, T extends TypesOf<R>> = Static<TPick<SchemaOf<T>, FieldsRead<R, T>[]>>;

/** An event as a handler declared on `R` sees it: its type and only the declared fields of its `data`. */
export type ReadEvent<R extends ReadFields> = { [T in TypesOf<R>]: CloudEvent<T, ReadData<R, T>> }[TypesOf<R>];

/** One entry of a consumer contract: a type (or, for consumers that read no field, a pattern), its version, the fields read. */
export interface ContractRead {
  /** An event type (`order.placed`), or a pattern (`order.*`, `*`) when `fields` is empty and `version` absent. */
  readonly type: string;
  /** The version of the type the consumer was written against. Absent for a pattern. */
  readonly version?: number;
  /** Top-level fields of `data` the consumer reads. */
  readonly fields: readonly string[];
}

/** What one consumer reads. `consumer` names it: a subscription (`orders.saga`), a delivery target (`target:<id>`), or a team's system. */
export interface ConsumerContract {
  readonly consumer: string;
  readonly reads: readonly ContractRead[];
}

/** A declaration made in code: the contract plus the picked schemas and the subscription's types. */
export interface ReadDeclaration<R extends ReadFields = ReadFields> extends ConsumerContract {
  /** The types to subscribe to, in declaration order. */
  readonly types: readonly TypesOf<R>[];
  /** Per type, the TypeBox pick of the catalog schema (`Type.Pick`) that types the handler's `data`. */
  readonly schemas: { readonly [T in TypesOf<R>]: TObject };
}

/** The `ReadFields` of a declaration: `Reaction<DB, E, ReadsOf<typeof ordersReads>>`. */
export type ReadsOf<D> = D extends ReadDeclaration<infer R> ? R : never;

/** A declaration of a consumer that takes every event (or a pattern) whole and reads no field of `data` (e.g. landing, audit). */
export interface OpaqueReadDeclaration extends ConsumerContract {
  readonly types: readonly string[];
}

const byType = new Map<string, CatalogEntry>(catalog.map((entry) => [entry.type, entry]));

/** Thrown by `declareReads` for a type or field the catalog does not have (the types already forbid it; this covers casts). */
export class UndeclarableReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UndeclarableReadError';
  }
}

/**
 * Declares what `consumer` reads: per event type, the fields of `data` (top-level names of the
 * catalog schema, current version). The handler typed with `ReadEvent<typeof declaration>` gets
 * exactly those fields.
 * @throws UndeclarableReadError for a type or field not in the catalog.
 */
export function declareReads<const R extends ReadFields>(consumer: string, fields: R): ReadDeclaration<R> {
  const reads: ContractRead[] = [];
  const schemas: Record<string, TObject> = {};
  for (const [type, names] of Object.entries(fields) as [string, readonly string[]][]) {
    const entry = byType.get(type);
    if (!entry) throw new UndeclarableReadError(`${consumer}: ${type} is not in the catalog`);
    const properties = (entry.schema as TObject).properties;
    for (const name of names) {
      if (!Object.hasOwn(properties, name)) throw new UndeclarableReadError(`${consumer}: ${type} v${entry.version} has no field ${name}`);
    }
    schemas[type] = Type.Pick(entry.schema as TObject, [...names]) as TObject;
    reads.push({ type, version: entry.version, fields: [...names] });
  }
  return { consumer, reads, types: Object.keys(fields) as TypesOf<R>[], schemas: schemas as ReadDeclaration<R>['schemas'] };
}

/**
 * The part of `declaration` about `types`, as the declaration of another subscription `consumer`
 * (e.g. one lane of several sharing one table of rules).
 */
export function declarationFor<R extends ReadFields>(declaration: ReadDeclaration<R>, consumer: string, types: readonly string[]): ReadDeclaration<R> {
  const kept = declaration.types.filter((t) => types.includes(t));
  const schemas = Object.fromEntries(kept.map((t) => [t, declaration.schemas[t]])) as ReadDeclaration<R>['schemas'];
  return { consumer, types: kept, reads: declaration.reads.filter((r) => kept.includes(r.type as (typeof kept)[number])), schemas };
}

/** Declares a consumer that takes the events of `types` (types or patterns) whole and reads no field of `data`. */
export function declareOpaqueReads(consumer: string, types: readonly string[]): OpaqueReadDeclaration {
  return { consumer, types: [...types], reads: types.map((type) => ({ type, fields: [] })) };
}

/** A contract as plain JSON (without the schemas a code declaration carries). */
export function contractOf(declaration: ConsumerContract): ConsumerContract {
  return {
    consumer: declaration.consumer,
    reads: declaration.reads.map((r) => ({ type: r.type, ...(r.version === undefined ? {} : { version: r.version }), fields: [...r.fields] })),
  };
}
