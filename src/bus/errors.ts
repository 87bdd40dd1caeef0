/** One broken rule of a published event: which event of the call, where inside it, and what. */
export interface EventIssue {
  /** Position of the event in a `publishAll` call; absent for `publish`. */
  readonly index?: number;
  /** JSON pointer inside the event, e.g. `/data/items/0/quantity` or `/time`. */
  readonly path: string;
  readonly message: string;
}

/** The type is neither a catalog type nor one of its aliases; nothing was stored. */
export class UnknownEventTypeError extends Error {
  override readonly name = 'UnknownEventTypeError';
  constructor(
    readonly type: string,
    /** Position of the event in a `publishAll` call; absent for `publish`. */
    readonly index?: number,
  ) {
    super(`unknown event type "${type}"${index === undefined ? '' : ` (event ${index})`}`);
  }
}

/** The event does not match its schema; nothing was stored. */
export class EventValidationError extends Error {
  override readonly name = 'EventValidationError';
  constructor(readonly issues: readonly EventIssue[]) {
    const first = issues[0];
    const where = first ? `${first.index === undefined ? '' : `event ${first.index} `}${first.path}: ${first.message}` : '';
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    super(`invalid event: ${where}${more}`);
  }
}

/** Thrown by a handler: retry this delivery after `delayMs` instead of the policy's backoff. */
export class RetryAfter extends Error {
  override readonly name = 'RetryAfter';
  constructor(
    readonly delayMs: number,
    message = `retry after ${delayMs} ms`,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A batch handler's result for an event it did not handle because an earlier event of the same
 * `partitionkey` failed in that batch (per-key order): the event is delivered again after the one
 * it waits for, and the wait counts as no attempt and leaves no retry state.
 */
export class HeldBack extends Error {
  override readonly name = 'HeldBack';
  constructor(readonly behind: string) {
    super(`held back behind event ${behind} of the same key, which failed`);
  }
}

/** Thrown by a handler: the event can never succeed; it goes to dead letters at once. */
export class PermanentFailure extends Error {
  override readonly name = 'PermanentFailure';
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
  }
}

/**
 * `throw retryAfter(30_000)` from a handler: retry after that long (a target's `Retry-After`),
 * whatever the policy's backoff says. The attempt still counts against `maxAttempts`.
 */
export function retryAfter(delayMs: number, cause?: unknown): RetryAfter {
  if (!Number.isFinite(delayMs) || delayMs < 0) throw new RangeError(`retryAfter: delay must be a finite number >= 0, got ${delayMs}`);
  const reason = cause instanceof Error ? `: ${cause.message}` : typeof cause === 'string' ? `: ${cause}` : '';
  return new RetryAfter(Math.round(delayMs), `retry after ${Math.round(delayMs)} ms${reason}`, { cause });
}

/** `throw failPermanently('order unknown')` from a handler: dead-letter the event now, no retries. */
export function failPermanently(reason: string | Error): PermanentFailure {
  return typeof reason === 'string' ? new PermanentFailure(reason) : new PermanentFailure(reason.message, { cause: reason });
}

/** Options of a subscription, outbox or engine are out of range; the message names the option. */
export class InvalidOptionsError extends Error {
  override readonly name = 'InvalidOptionsError';
}

/** No subscription of that name exists in the engine. */
export class UnknownSubscriptionError extends Error {
  override readonly name = 'UnknownSubscriptionError';
  constructor(readonly subscription: string) {
    super(`unknown subscription "${subscription}"`);
  }
}

/** A consumer was attached to a running subscription with options that contradict it. */
export class SubscriptionConflictError extends Error {
  override readonly name = 'SubscriptionConflictError';
}

/** The engine (or bus) was closed; nothing more is accepted. */
export class EngineClosedError extends Error {
  override readonly name = 'EngineClosedError';
  constructor(engine: string) {
    super(`${engine} engine is closed`);
  }
}

/** One event of a call whose `source` + `id` is already stored with different content. */
export interface IdentityConflict {
  /** Position of the event in the call (0 for `publish`). */
  readonly index: number;
  readonly id: string;
  readonly source: string;
  /** The sequence of the event already stored under that identity. */
  readonly sequence: number;
}

/**
 * An event's `source` + `id` is already in the log with different content (CloudEvents: source +
 * id identify an event, so this is not a resend but a second event under a used identity). The
 * call is refused; on engines whose batches are all or nothing (sqlite, redis) nothing of it was
 * stored. An identical resend is not an error: it answers `duplicate: true`.
 */
export class IdentityConflictError extends Error {
  override readonly name = 'IdentityConflictError';
  constructor(readonly conflicts: readonly IdentityConflict[]) {
    const first = conflicts[0];
    const more = conflicts.length > 1 ? ` (and ${conflicts.length - 1} more)` : '';
    super(
      first
        ? `event ${JSON.stringify(first.id)} from ${JSON.stringify(first.source)} is already stored at sequence ${first.sequence} with different content${more}`
        : 'identity conflict',
    );
  }
}
