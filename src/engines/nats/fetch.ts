import { createInbox, type NatsConnection } from '@nats-io/transport-node';
import { parseDelivery, type Delivery } from './delivery.ts';

/**
 * One pull request for up to `batch` messages: resolves with what arrived once `batch` arrived,
 * the server said the request expired, or `expiresMs` (+ grace) passed. Ask only for what the
 * consumer has pending, and the answer is immediate.
 */
export async function fetchBatch(nc: NatsConnection, stream: string, consumer: string, batch: number, expiresMs = 5_000): Promise<Delivery[]> {
  const inbox = createInbox();
  const received: Delivery[] = [];
  return await new Promise<Delivery[]>((resolve, reject) => {
    const finish = (error?: Error): void => {
      clearTimeout(timer);
      subscription.unsubscribe();
      if (error && received.length === 0) reject(error);
      else resolve(received);
    };
    const subscription = nc.subscribe(inbox, {
      callback: (error, msg) => {
        if (error) return finish(error);
        const delivery = parseDelivery(nc, msg);
        if (!delivery) {
          const code = msg.headers?.code ?? 0;
          if (code === 100) return;
          return finish(code === 408 || code === 404 ? undefined : new Error(`fetch from ${stream}/${consumer}: ${code} ${msg.headers?.description ?? ''}`.trim()));
        }
        received.push(delivery);
        if (received.length >= batch) finish();
      },
    });
    const timer = setTimeout(() => finish(), expiresMs + 2_000);
    nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`, JSON.stringify({ batch, expires: expiresMs * 1_000_000 }), { reply: inbox });
  });
}
