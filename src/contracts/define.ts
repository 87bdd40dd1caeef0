import type { Static, TSchema } from '@sinclair/typebox';

/** seed 003: what an event carries. */
export type EventKind = 'domain' | 'state' | 'notification';
/** seed 002: how fast consumers must react. */
export type Urgency = 'immediate' | 'background';

/** One event type of the catalog, declared once in `catalog/<producer>.ts`. */
export interface EventDefinition<T extends string = string, S extends TSchema = TSchema> {
  /** `<noun>.<past-tense verb>`, e.g. `order.placed`. */
  readonly type: T;
  /** Schema version; a breaking change is a new version. */
  readonly version: number;
  /** The bounded context that publishes it (`orders`, `payments`, …). */
  readonly producer: string;
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
}

/** Declares an event type, keeping its literal `type` and schema for inference. */
export function defineEvent<const T extends string, S extends TSchema>(definition: EventDefinition<T, S>): EventDefinition<T, S> {
  return definition;
}

/** The `data` type of a definition. */
export type DataOf<D> = D extends EventDefinition<string, infer S> ? Static<S> : never;
