import { createInbox, type Msg, type NatsConnection, type Subscription as NatsSubscription } from '@nats-io/transport-node';
import { parseDelivery, type Delivery } from './delivery.ts';

/**
 * A pull loop on one durable consumer that never holds more than `capacity` messages: it asks the
 * server (`CONSUMER.MSG.NEXT`) for exactly the free room, so a busy process does not hoard work
 * that an idle competing process could do. Messages stay held until `release()`.
 *
 * Requests expire server-side after `expiresMs`; a request the server never answered (restart,
 * lost connection) is forgotten `expiresMs` + 2 s later so the room is asked for again.
 */
export interface PullLane {
  /** Frees room for one message (or `count`) once it is acked, nak'd or terminated. */
  release(count?: number): void;
  /** Stops asking; messages already on the wire when it stops are nak'd at once. */
  close(): Promise<void>;
}

export interface PullLaneOptions {
  readonly nc: NatsConnection;
  /** JetStream API prefix. (Default: `$JS.API`) */
  readonly apiPrefix?: string;
  readonly stream: string;
  readonly consumer: string;
  readonly capacity: number;
  /** Lifetime of one pull request on the server. (Default: 15 000 ms) */
  readonly expiresMs?: number;
  readonly onDelivery: (delivery: Delivery) => void;
  /** A pull failed (no consumer, no JetStream); the lane retries on its own. */
  readonly onError?: (error: Error) => void;
}

const RETRY_AFTER_ERROR_MS = 500;

export function createPullLane(options: PullLaneOptions): PullLane {
  const { nc, stream, consumer, capacity, onDelivery } = options;
  const apiPrefix = options.apiPrefix ?? '$JS.API';
  const expiresMs = options.expiresMs ?? 15_000;
  const inbox = createInbox();
  // Requests not known to be over, each with a timer for when the server never says so.
  const live = new Map<string, NodeJS.Timeout>();
  let held = 0;
  // Messages asked for and not yet received, over all live requests. Deliveries do not say which
  // request they answer (their subject is the event's), so this is counted in aggregate, like
  // nats.js does: -1 per message, minus `Nats-Pending-Messages` when a request ends, 0 when none is live.
  let outstanding = 0;
  let nextId = 0;
  let closed = false;
  let pausedUntil = 0;
  let resumeTimer: NodeJS.Timeout | undefined;

  const end = (id: string, unanswered: number): void => {
    const timer = live.get(id);
    if (timer === undefined) return;
    clearTimeout(timer);
    live.delete(id);
    outstanding = live.size === 0 ? 0 : Math.max(0, outstanding - unanswered);
  };

  const fail = (error: Error): void => {
    options.onError?.(error);
    pausedUntil = Date.now() + RETRY_AFTER_ERROR_MS;
    if (!resumeTimer && !closed) {
      resumeTimer = setTimeout(() => {
        resumeTimer = undefined;
        pump();
      }, RETRY_AFTER_ERROR_MS);
    }
  };

  const pump = (): void => {
    if (closed || nc.isClosed() || Date.now() < pausedUntil) return;
    const room = capacity - held - outstanding;
    // Ask again when nothing is outstanding, or for a worthwhile batch: not one request per message.
    if (room <= 0 || (outstanding > 0 && room < Math.ceil(capacity / 2))) return;
    const id = String(nextId++);
    live.set(
      id,
      // No status by then: it was answered in full (the server says nothing more) or lost.
      setTimeout(() => {
        end(id, 0);
        pump();
      }, expiresMs + 2_000),
    );
    outstanding += room;
    try {
      nc.publish(`${apiPrefix}.CONSUMER.MSG.NEXT.${stream}.${consumer}`, JSON.stringify({ batch: room, expires: expiresMs * 1_000_000 }), {
        reply: `${inbox}.${id}`,
      });
    } catch (error) {
      end(id, room);
      fail(error as Error);
    }
  };

  const onMessage = (msg: Msg): void => {
    const delivery = parseDelivery(nc, msg);
    if (!delivery) {
      // A status to the request's own inbox: 100 idle heartbeat, 408 expired, 409 consumer deleted
      // or a limit, 503 no JetStream or no consumer.
      const code = msg.headers?.code ?? 0;
      if (code === 100) return;
      const id = msg.subject.slice(inbox.length + 1);
      end(id, Number(msg.headers?.get('Nats-Pending-Messages') || 0));
      if (code >= 409 || code === 404) fail(new Error(`pull from ${stream}/${consumer}: ${code} ${msg.headers?.description ?? ''}`.trim()));
      pump();
      return;
    }
    outstanding = Math.max(0, outstanding - 1);
    if (closed) {
      delivery.nak();
      return;
    }
    held += 1;
    onDelivery(delivery);
  };

  const subscription: NatsSubscription = nc.subscribe(`${inbox}.*`, { callback: (error, msg) => (error ? fail(error) : onMessage(msg)) });
  pump();

  return {
    release(count = 1) {
      held = Math.max(0, held - count);
      pump();
    },
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(resumeTimer);
      for (const id of [...live.keys()]) end(id, 0);
      // Drain: the server drops our waiting pull requests once it sees no interest; whatever it sent
      // before that still arrives here and is nak'd for another consumer.
      if (!nc.isClosed()) await subscription.drain().catch(() => undefined);
    },
  };
}
