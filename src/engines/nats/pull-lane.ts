import { createInbox, type Msg, type NatsConnection, type Subscription as NatsSubscription } from '@nats-io/transport-node';
import { parseDelivery, type Delivery } from './delivery.ts';

/**
 * A pull loop on one durable consumer that asks the server (`CONSUMER.MSG.NEXT`) for no more
 * than its owner wants (`room()`), so a busy process does not hoard work that an idle competing
 * process could do. Call `pump()` whenever the owner has room again.
 *
 * Every pull request gets its own inbox subscription: deliveries carry the event's subject, not
 * the request's, so that is the only way to know which request a message answered and how many
 * are still coming. A request ends when all its messages came, when the server says so (408
 * expired, 409 consumer deleted or a limit, 503 no consumer), or `expiresMs` + 2 s later.
 */
export interface PullLane {
  /** Asks for more if the owner has room and nothing is outstanding that would fill it. */
  pump(): void;
  /**
   * Stops asking. Resolves once the server knows our requests' inboxes are gone; messages it sent
   * before that still reach `onDelivery`.
   */
  close(): Promise<void>;
}

export interface PullLaneOptions {
  readonly nc: NatsConnection;
  /** JetStream API prefix. (Default: `$JS.API`) */
  readonly apiPrefix?: string;
  readonly stream: string;
  readonly consumer: string;
  /** How many more messages the owner takes now (held ones not counted). */
  readonly room: () => number;
  /** Lifetime of one pull request on the server. (Default: 15 000 ms) */
  readonly expiresMs?: number;
  readonly onDelivery: (delivery: Delivery) => void;
  /** A pull failed (no consumer, no JetStream); the lane retries on its own. */
  readonly onError?: (error: Error) => void;
}

interface PullRequest {
  remaining: number;
  readonly subscription: NatsSubscription;
  readonly timer: NodeJS.Timeout;
}

const RETRY_AFTER_ERROR_MS = 500;

export function createPullLane(options: PullLaneOptions): PullLane {
  const { nc, stream, consumer, onDelivery } = options;
  const apiPrefix = options.apiPrefix ?? '$JS.API';
  const expiresMs = options.expiresMs ?? 15_000;
  const requests = new Set<PullRequest>();
  let closed = false;
  let paused = false;
  let resumeTimer: NodeJS.Timeout | undefined;

  const outstanding = (): number => {
    let sum = 0;
    for (const request of requests) sum += request.remaining;
    return sum;
  };

  const end = (request: PullRequest): void => {
    if (!requests.delete(request)) return;
    clearTimeout(request.timer);
    request.subscription.unsubscribe();
  };

  const fail = (error: Error): void => {
    options.onError?.(error);
    if (paused || closed) return;
    paused = true;
    resumeTimer = setTimeout(() => {
      paused = false;
      pump();
    }, RETRY_AFTER_ERROR_MS);
  };

  const onMessage = (request: PullRequest, msg: Msg): void => {
    const delivery = parseDelivery(nc, msg);
    if (!delivery) {
      const code = msg.headers?.code ?? 0;
      if (code === 100) return; // idle heartbeat
      end(request);
      if (code !== 408 && code !== 404) fail(new Error(`pull from ${stream}/${consumer}: ${code} ${msg.headers?.description ?? ''}`.trim()));
      pump();
      return;
    }
    request.remaining -= 1;
    if (request.remaining <= 0) end(request);
    // Also while closing: the owner hands it back with the rest, once the server forgot our requests.
    onDelivery(delivery);
  };

  function pump(): void {
    if (closed || paused || nc.isClosed()) return;
    const wanted = options.room() - outstanding();
    // Ask when nothing is outstanding, or for a worthwhile batch: not one request per message.
    if (wanted <= 0 || (requests.size > 0 && wanted < Math.max(1, outstanding()))) return;
    const inbox = createInbox();
    const request: PullRequest = {
      remaining: wanted,
      subscription: nc.subscribe(inbox, { callback: (error, msg) => (error ? fail(error) : onMessage(request, msg)) }),
      // No status by then: answered in full, or lost with a server restart.
      timer: setTimeout(() => {
        end(request);
        pump();
      }, expiresMs + 2_000),
    };
    requests.add(request);
    try {
      nc.publish(`${apiPrefix}.CONSUMER.MSG.NEXT.${stream}.${consumer}`, JSON.stringify({ batch: wanted, expires: expiresMs * 1_000_000 }), { reply: inbox });
    } catch (error) {
      end(request);
      fail(error as Error);
    }
  }

  pump();

  return {
    pump,
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(resumeTimer);
      // Drain: the server drops a waiting pull request once it sees no interest; whatever it sent
      // before that still arrives.
      await Promise.all(
        [...requests].map(async (request) => {
          clearTimeout(request.timer);
          requests.delete(request);
          if (!nc.isClosed()) await request.subscription.drain().catch(() => undefined);
        }),
      );
    },
  };
}
