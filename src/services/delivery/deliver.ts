/**
 * Delivers one event to one target, the handler of the target's subscription:
 * limiter → circuit breaker → request → what the reply means.
 * - 2xx: delivered; the reply's rate-limit headers still teach the limiter (fill, pause at 0 left).
 * - 429 or GraphQL THROTTLED: back-pressure for the whole target: the limiter pauses it until the
 *   time the target gave and the same event is sent again after that, inside this delivery (the
 *   event's attempts are not used up).
 * - timeout, network error, 5xx, 408: retried by the bus on the target's schedule (a 503's
 *   Retry-After is honoured); the last attempt goes to the target's dead letters.
 * - 410 Gone: the target is disabled; the event goes to dead letters.
 * - any other reply: fails permanently into the target's dead letters.
 */
import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import { failPermanently, retryAfter, type DeliveredEvent, type Handler } from '../../bus/index.ts';
import type { AttemptLog, AttemptOutcome } from './attempts.ts';
import type { TargetBreaker } from './breaker.ts';
import type { Limiter } from './limiter.ts';
import { readRateSignals, type RateSignals } from './rate-signals.ts';
import { buildRequest, flatHeaders, send, type SendResult } from './send.ts';
import type { Target } from './targets.ts';

export interface DeliverDeps {
  /** The target as it is now (url, headers, secrets and limits are read per request). */
  readonly target: () => Target;
  readonly limiter: Limiter;
  readonly breaker: TargetBreaker<SendResult>;
  readonly attempts: AttemptLog;
  readonly dispatcher: Dispatcher;
  readonly logger: Logger;
  /** Aborts waiting deliveries when the subscription stops. */
  readonly signal: AbortSignal;
  /** 410 Gone: stop delivering to this target. */
  readonly disable: (reason: string) => Promise<void>;
  /** Told each attempt's outcome (the metrics). (Default: nothing) */
  readonly onAttempt?: (targetId: string, outcome: AttemptOutcome) => void;
}

/** Pause after a 429 / THROTTLED that says nothing of when to come back: one request interval, at least 1 s. */
const fallbackPauseMs = (target: Target) => Math.max(1_000, target.rateLimit.intervalMs / target.rateLimit.limit);

/** Timeouts, network errors, 5xx and 408 are worth retrying (and count against the breaker). */
const retryable = (result: SendResult) => result.kind === 'error' || result.status >= 500 || result.status === 408;

export function deliverTo(deps: DeliverDeps): Handler {
  const { limiter, breaker, attempts, logger, signal } = deps;
  return async (event: DeliveredEvent, { attempt }) => {
    for (;;) {
      let target = deps.target();
      let startedAt = new Date();
      let started = 0;
      let result: SendResult;
      try {
        result = await breaker.run(
          async () => {
            await limiter.acquire(target.id, target.rateLimit, signal);
            target = deps.target();
            startedAt = new Date();
            started = performance.now();
            const { body, headers } = buildRequest(target, event, startedAt);
            return send(deps.dispatcher, target, body, headers);
          },
          retryable,
          signal,
        );
      } catch (error) {
        // Stopping (pause, change, shutdown) while waiting for a slot or a probe: nothing was sent.
        if (signal.aborted) throw retryAfter(0, error);
        throw error;
      }
      const durationMs = performance.now() - started;
      const now = Date.now();
      const signals: RateSignals = result.kind === 'reply' ? readRateSignals(result.status, result.headers, result.body, now) : { throttled: false };
      // The pause first, before anything else awaits: other requests of this process see it at once.
      if (signals.retryAt !== undefined) await limiter.pause(target.id, target.rateLimit, signals.retryAt, signals.reason ?? 'rate limited');
      else if (signals.throttled) await limiter.pause(target.id, target.rateLimit, now + fallbackPauseMs(target), 'throttled');
      if (signals.paceMs !== undefined) await limiter.observePace(target.id, signals.paceMs);
      if (result.kind === 'reply' && signals.bucket) await limiter.observeFill(target.id, target.rateLimit, signals.bucket.used, signals.bucket.size);
      const outcome: AttemptOutcome = signals.throttled
        ? 'throttled'
        : result.kind === 'reply' && result.status >= 200 && result.status < 300
          ? 'delivered'
          : retryable(result) && attempt < target.retry.maxAttempts
            ? 'retrying'
            : 'failed';
      deps.onAttempt?.(target.id, outcome);
      await attempts.record({
        targetId: target.id,
        eventId: event.id,
        eventType: event.type,
        attempt,
        startedAt: startedAt.toISOString(),
        durationMs,
        status: result.kind === 'reply' ? result.status : null,
        responseHeaders: result.kind === 'reply' ? flatHeaders(result.headers) : null,
        responseBody: result.kind === 'reply' ? result.bodyKept : null,
        error: result.kind === 'error' ? result.error : result.status >= 300 ? `HTTP ${result.status}` : signals.throttled ? 'THROTTLED' : null,
        outcome,
      });
      if (outcome === 'delivered') return;
      if (outcome === 'throttled') {
        logger.debug({ target: target.id, id: event.id, until: signals.retryAt }, 'target throttled; paused');
        continue;
      }
      const reason = result.kind === 'error' ? result.error : `HTTP ${result.status} from ${target.url}`;
      if (result.kind === 'reply' && result.status === 410) {
        await deps.disable('410 Gone');
        throw failPermanently(`${reason}: target disabled`);
      }
      if (outcome === 'failed' && !retryable(result)) throw failPermanently(reason);
      logger.warn({ target: target.id, id: event.id, type: event.type, attempt, error: reason }, 'delivery attempt failed');
      // A 503 that says when to come back is believed; otherwise the target's retry schedule.
      if (signals.retryAt !== undefined) throw retryAfter(Math.max(0, signals.retryAt - now), new Error(reason));
      throw new Error(reason);
    }
  };
}
