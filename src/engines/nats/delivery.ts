import type { Msg, NatsConnection } from '@nats-io/transport-node';

/**
 * One message delivered by a JetStream consumer, read from its `$JS.ACK…` reply subject, with the
 * acknowledgement verbs of the JetStream protocol (`+ACK`, `-NAK`, `+WPI`, `+TERM`).
 */
export interface Delivery {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly streamSequence: number;
  /** 1 on first delivery; counts redeliveries after `nak` or an expired ack wait. */
  readonly deliveryCount: number;
  /** Messages of the consumer still to deliver after this one. */
  readonly pending: number;
  /** When the stream stored the message (ms since the epoch). */
  readonly storedAtMs: number;
  ack(): void;
  /** Redeliver after `delayMs` (immediately without). */
  nak(delayMs?: number): void;
  /** Still working on it: restarts the ack wait. */
  working(): void;
  /** Never redeliver. */
  term(): void;
}

/** Reply subject tokens: `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>` (v1) or with domain and account hash (v2). */
export function parseDelivery(nc: NatsConnection, msg: Msg): Delivery | undefined {
  const reply = msg.reply;
  if (!reply?.startsWith('$JS.ACK.')) return undefined;
  let tokens = reply.split('.');
  if (tokens.length === 9) tokens = [tokens[0], tokens[1], '_', '', ...tokens.slice(2)];
  if (tokens.length < 11) return undefined;
  const ackTo = (body: string): void => {
    if (!nc.isClosed()) nc.publish(reply, body);
  };
  return {
    subject: msg.subject,
    data: msg.data,
    deliveryCount: Number(tokens[6]),
    streamSequence: Number(tokens[7]),
    storedAtMs: Number(BigInt(tokens[9]) / 1_000_000n),
    pending: Number(tokens[10]),
    ack: () => ackTo('+ACK'),
    nak: (delayMs) => ackTo(delayMs && delayMs > 0 ? `-NAK ${JSON.stringify({ delay: Math.round(delayMs * 1e6) })}` : '-NAK'),
    working: () => ackTo('+WPI'),
    term: () => ackTo('+TERM'),
  };
}
