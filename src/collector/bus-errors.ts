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
 */
export function fromBusError(error: unknown, at: (index: number | undefined) => string = () => ''): unknown {
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
    case 'UnknownSubscriptionError':
      return notFound(error.message);
    case 'EngineClosedError':
      return new ApiError(503, 'unavailable', 'the server is shutting down; retry on another instance or later');
    default:
      return error;
  }
}
