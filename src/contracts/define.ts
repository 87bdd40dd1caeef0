import type { Static, TSchema } from '@sinclair/typebox';

/** seed 003: what an event carries. */
export type EventKind = 'domain' | 'state' | 'notification';
/** seed 002: how fast consumers must react. */
export type Urgency = 'immediate' | 'background';
/**
 * Who may publish a type from outside (over HTTP), DESIGN.md "Security" and issue 7:
 * `producer` — only a key scoped to the type's producer (its money, stock or identity is acted on);
 * `anyone` — any valid key, and without a key where `FLAMINGO_SEED_TYPES` allows it (no service
 * acts on it with money or stock). The services inside Flamingo publish through the bus directly.
 */
export type PublishedBy = 'producer' | 'anyone';

/** One event type of the catalog, declared once in `catalog/<producer>.ts`. */
export interface EventDefinition<T extends string = string, S extends TSchema = TSchema> {
  /** `<noun>.<past-tense verb>`, e.g. `order.placed`. */
  readonly type: T;
  /** Schema version; a breaking change is a new version. */
  readonly version: number;
  /** The bounded context that publishes it (`orders`, `payments`, …). */
  readonly producer: string;
  /**
   * Who may publish it over HTTP: `producer` (a key scoped to `producer`) or `anyone` (any key, and
   * keyless producers where `FLAMINGO_SEED_TYPES` allows). Mark a type `anyone` only when no
   * service acts on it with money, stock or identity. (Default: 'producer')
   */
  readonly publishedBy?: PublishedBy;
  readonly kind: EventKind;
  /**
   * The fields of `data` holding the ordering key, in order of preference: the first one present
   * wins (e.g. `['orderId']`). The key becomes `partitionkey` and the subject `<subject>/<key>`.
   */
  readonly key: readonly string[];
  /** The noun of `subject`, e.g. `order` makes `order/<key>`. */
  readonly subject: string;
  readonly urgency: Urgency;
  /** TypeBox schema of `data`; handlers get `Static<schema>`. */
  readonly schema: S;
  /** JSON pointers (relative to `data`, e.g. `/email`) of personal data. */
  readonly personalData: readonly string[];
  /**
   * JSON pointers (relative to `data`) of secrets meant for one consumer only, such as a payment
   * token: every other consumer (warehouse, hub, delivery) must drop them. (Default: none)
   */
  readonly secrets?: readonly string[];
  /** Other names producers already use for this type (e.g. the seed's `item_added_to_cart`). */
  readonly aliases: readonly string[];
  readonly description: string;
  /**
   * Older versions still accepted during their deprecation (issue 14): producers may go on
   * publishing them until `until`, and `flamingo catalog check` lists the consumers still declared
   * on them. Dropping a version from here while a consumer declares it fails the check. (Default: none)
   */
  readonly deprecated?: readonly DeprecatedVersion[];
}

/** An older version of an event type, still accepted until `until`. */
export interface DeprecatedVersion {
  readonly version: number;
  /** The TypeBox schema of `data` in that version. */
  readonly schema: TSchema;
  /** End of the deprecation period, RFC 3339 (e.g. `2027-06-30T00:00:00Z`). */
  readonly until: string;
}

/** Declares an event type, keeping its literal `type` and schema for inference. */
export function defineEvent<const T extends string, S extends TSchema>(definition: EventDefinition<T, S>): EventDefinition<T, S> {
  return definition;
}

/** Who may publish `definition` over HTTP (its `publishedBy`, `producer` unless marked). */
export function publishedByOf(definition: Pick<EventDefinition, 'publishedBy'>): PublishedBy {
  return definition.publishedBy ?? 'producer';
}

/** The `data` type of a definition. */
export type DataOf<D> = D extends EventDefinition<string, infer S> ? Static<S> : never;
