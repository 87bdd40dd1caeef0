/**
 * Who may publish what over HTTP (DESIGN.md "Security", issue 7): a type the catalog marks
 * `publishedBy: 'anyone'` (cart item state) by any key whose patterns match it; every other type
 * only by a key scoped to the type's producer. The admin key manages Flamingo but speaks for no
 * producer. The services inside Flamingo publish through the bus and are not asked.
 */
import { catalog, findDefinition, isTypePattern, matchesTypePattern, publishedByOf, type CatalogEntry } from '../../contracts/index.ts';

/** What a producer key may publish: its type patterns, and the producer it speaks for, if any. */
export interface PublishScope {
  /** Event type patterns: `order.*`, `cart.item_added`, `*`. */
  readonly types: readonly string[];
  /** A producer of the catalog (`orders`, `webshop`, …), or null for none. */
  readonly producer: string | null;
}

/** A key scope that cannot be created; `field` is the request field at fault (`types`, `producer`). */
export class KeyScopeError extends RangeError {
  constructor(
    readonly field: 'types' | 'producer',
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'KeyScopeError';
  }
}

/** The producers of the catalog, sorted. */
export const PRODUCERS: readonly string[] = [...new Set(catalog.map((e) => e.producer))].sort();

const mayCarry = (producer: string | null, entry: CatalogEntry) => publishedByOf(entry) === 'anyone' || entry.producer === producer;

/** How to get a key that may publish `entry`. */
const howToGet = (entry: CatalogEntry) =>
  `create one with POST /v1/keys {"producer":"${entry.producer}"} or flamingo keys create --producer ${entry.producer}`;

/**
 * Checks a scope before a key is made: `producer` must be a producer of the catalog, and every
 * pattern must match a type the key could publish (so a key never looks broader than it is).
 * Without `types` a producer key gets `*`: every type of its producer, and those anyone may publish.
 * Throws `KeyScopeError`; returns the scope with duplicate patterns removed.
 */
export function checkPublishScope(input: { types?: readonly string[]; producer?: string | null }): PublishScope {
  const producer = input.producer ?? null;
  if (producer !== null && !PRODUCERS.includes(producer)) throw new KeyScopeError('producer', `"${producer}" is not a producer of the catalog (${PRODUCERS.join(', ')})`);
  const types = [...new Set(input.types ?? (producer === null ? [] : ['*']))];
  if (types.length === 0) throw new KeyScopeError('types', 'give at least one event type pattern (cart.item_added, order.*, *) or a producer');
  const malformed = types.filter((t) => !isTypePattern(t));
  if (malformed.length > 0) throw new KeyScopeError('types', `not event type patterns: ${malformed.join(', ')}`);
  for (const pattern of types) {
    const matched = catalog.filter((e) => matchesTypePattern(pattern, e.type));
    if (matched.some((e) => mayCarry(producer, e))) continue;
    const owners = [...new Set(matched.map((e) => e.producer))];
    throw new KeyScopeError(
      'types',
      matched.length === 0
        ? `${pattern} matches no type of the catalog`
        : `${pattern} matches only types produced by ${owners.join(', ')}; a key publishes them only with that producer scope ("producer": "${owners[0]}")`,
    );
  }
  return { types, producer };
}

/**
 * Why a key with `scope` (the admin key: `'admin'`) may not publish `type` over HTTP, or undefined
 * when it may. The reason names the type, its producer and how to get a key that may.
 */
export function publishRefusal(scope: PublishScope | 'admin', type: string): string | undefined {
  const entry = findDefinition(type);
  if (!entry) return `${type} is not in the catalog`;
  const owned = publishedByOf(entry) === 'producer';
  if (scope === 'admin') {
    return owned ? `${entry.type} is produced by ${entry.producer}: only a key scoped to producer ${entry.producer} may publish it, not the admin key; ${howToGet(entry)}` : undefined;
  }
  if (owned && scope.producer !== entry.producer) {
    const has = scope.producer === null ? 'this key has no producer scope' : `this key is scoped to producer ${scope.producer}`;
    return `${entry.type} is produced by ${entry.producer} and ${has}: only a key scoped to producer ${entry.producer} may publish it; ${howToGet(entry)}`;
  }
  if (!scope.types.some((p) => matchesTypePattern(p, entry.type))) return `this key may not publish ${entry.type} (its types: ${scope.types.join(', ')})`;
  return undefined;
}
