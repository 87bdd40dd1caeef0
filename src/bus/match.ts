import { matchesTypes } from '../contracts/index.ts';

/** Whether an event type is selected by a subscription's types: the contracts' one grammar (type-pattern.ts). */
export { matchesTypes };

/** A subscription's types split for a query: every type (`*`), exact names and `noun.` prefixes. */
export interface TypeSelection {
  readonly all: boolean;
  readonly exact: readonly string[];
  readonly prefixes: readonly string[];
}

/** Splits type patterns into what a storage query needs (see `matchesTypes` for the meaning). */
export function typeSelection(patterns: readonly string[]): TypeSelection {
  if (patterns.includes('*')) return { all: true, exact: [], prefixes: [] };
  const exact = new Set<string>();
  const prefixes = new Set<string>();
  for (const pattern of patterns) {
    if (pattern.endsWith('.*')) prefixes.add(pattern.slice(0, -1));
    else exact.add(pattern);
  }
  return { all: false, exact: [...exact], prefixes: [...prefixes] };
}
