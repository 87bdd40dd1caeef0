/**
 * Field names no event, envelope or request may use: assigning them to a plain JavaScript object
 * changes its prototype or shadows its constructor (prototype pollution). No schema of the catalog
 * declares them (`catalog.unit.test.ts` keeps it so), so refusing them everywhere loses nothing.
 */
export const PROTOTYPE_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** The message of a refused field name, the same wherever it is refused. */
export const prototypeNameMessage = (name: string) => `"${name}" is not accepted as a field name (prototype pollution)`;
