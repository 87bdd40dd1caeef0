import { ApiError, notFound, unprocessable } from '../platform/errors.ts';

interface IssueLike {
  readonly index?: number;
  readonly path: string;
  readonly message: string;
}

/**
 * The bus's refusals as HTTP answers. The collector checks first, so these are rare (a catalog
 * changed under a running process, a subscription deleted meanwhile, shutdown) — but they must
 * not become 500s. Matches by error name so this file needs nothing but the bus's contract.
 * @param at the path prefix of event `index` of a batch (`/3`); `''` for a single event.
 * @param idPath where the body gives the event's id (`/id`; the seed envelope's `/event_id`).
 */
export function fromBusError(error: unknown, at: (index: number | undefined) => string = () => '', idPath = '/id'): unknown {
  if (error instanceof ApiError || !(error instanceof Error)) return error;
  const e = error as Error & { issues?: readonly IssueLike[]; index?: number; type?: string; subscription?: string };
  switch (error.name) {
    case 'UnknownEventTypeError':
      return unprocessable('unknown_event_type', 'the catalog has no such event type', [{ path: `${at(e.index)}/type`, message: error.message }]);
    case 'EventValidationError':
      return unprocessable(
        'invalid_event',
        'the event does not match its schema',
        (e.issues ?? []).map((i) => ({ path: `${at(i.index)}${i.path}`, message: i.message })),
      );
    case 'IdentityConflictError': {
      // 409: the identity is taken by an event with other content; a resend of the same event is a 2xx duplicate.
      const conflicts = (error as Error & { conflicts?: readonly { index: number; id: string; source: string; sequence: number }[] }).conflicts ?? [];
      return new ApiError(
        409,
        'event_conflict',
        `${error.message}; source + id name one event (CloudEvents), so this one was not stored: give it a new id`,
        conflicts.map((c) => ({
          path: `${at(c.index)}${idPath}`,
          message: `source ${JSON.stringify(c.source)} and id ${JSON.stringify(c.id)} are stored at sequence ${c.sequence} with different content`,
        })),
      );
    }
    case 'UnknownSubscriptionError':
      return notFound(error.message);
    case 'EngineClosedError':
      return new ApiError(503, 'unavailable', 'the server is shutting down; retry on another instance or later');
    default:
      return error;
  }
}
