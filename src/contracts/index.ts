export type { CloudEvent, UnstoredEvent } from './envelope.ts';
export { ENVELOPE_ATTRIBUTES } from './envelope.ts';
export type { EventDefinition, EventKind, Urgency, DataOf } from './define.ts';
export { defineEvent } from './define.ts';
export { catalog } from './catalog/index.ts';
export type { CatalogEntry, EventType, EventData } from './catalog/index.ts';
export type { ValidationIssue } from './validate.ts';
export { findDefinition, validateAgainst, validateData, keyOf, subjectOf, dataschemaOf } from './validate.ts';
