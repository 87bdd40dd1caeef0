import type { CloudEvent, UnstoredEvent } from '../../contracts/index.ts';
import type { Delivery } from './delivery.ts';

const decoder = new TextDecoder();

/**
 * A stored message back to its envelope: the payload is the event as appended; `sequence` is the
 * stream sequence and `recordedtime` the stream's store time, both assigned by the server.
 */
export function toCloudEvent(delivery: Pick<Delivery, 'data' | 'streamSequence' | 'storedAtMs'>): CloudEvent {
  const event = JSON.parse(decoder.decode(delivery.data)) as UnstoredEvent;
  return { ...event, sequence: delivery.streamSequence, recordedtime: new Date(delivery.storedAtMs).toISOString() };
}
