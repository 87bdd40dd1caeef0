/**
 * Fields every log line carries while some work runs — the event being handled (`event_id`,
 * `event_type`, `subscription`) — kept in an AsyncLocalStorage so that whatever a handler logs,
 * with whichever logger, says which event it was about. The logger's mixin reads it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface LogFields {
  readonly event_id?: string;
  readonly event_type?: string;
  readonly subscription?: string;
}

const store = new AsyncLocalStorage<LogFields>();

/** Runs `work` with `fields` on every log line written within it. */
export function withLogFields<T>(fields: LogFields, work: () => T): T {
  return store.run(fields, work);
}

/** The fields of the work running now (`undefined` outside any). */
export function currentLogFields(): LogFields | undefined {
  return store.getStore();
}
