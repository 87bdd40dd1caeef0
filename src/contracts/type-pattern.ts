/**
 * The one grammar of event type patterns, used wherever types are selected: subscriptions, log
 * reads, producer key scopes and the keyless allowlist. A pattern is an exact type
 * (`order.placed`), a prefix (`order.*`: every type that starts with `order.`) or `*` (every type).
 * Types are lower-case dot-separated words (`cart.item_added`), as the catalog names them.
 */

const TYPE_PATTERN = /^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$/;

/** True when `pattern` (`order.placed`, `order.*`, `*`) is a well-formed event type pattern. */
export function isTypePattern(pattern: string): boolean {
  return TYPE_PATTERN.test(pattern);
}

/** True when event type `type` matches `pattern` (`*` matches all, `order.*` matches `order.placed`, not `orders.x`). */
export function matchesTypePattern(pattern: string, type: string): boolean {
  if (pattern === '*' || pattern === type) return true;
  return pattern.endsWith('.*') && type.startsWith(pattern.slice(0, -1));
}

/** True when `type` matches any of `patterns` (none: false). */
export function matchesTypes(patterns: readonly string[], type: string): boolean {
  return patterns.some((pattern) => matchesTypePattern(pattern, type));
}
