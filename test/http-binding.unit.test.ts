/**
 * The CloudEvents HTTP binding both ways: what delivery sends in binary mode, the collector reads
 * back as the same attributes (percent-encoding of `%`, `"` and non-ASCII, then UTF-8 decoding).
 */
import { describe, expect, it } from 'vitest';
import type { CloudEvent } from '../src/contracts/index.ts';
import { binaryEvent } from '../src/collector/binary.ts';
import { buildRequest } from '../src/services/delivery/send.ts';
import type { Target } from '../src/services/delivery/targets.ts';

const event = {
  specversion: '1.0',
  id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
  source: '/dapr',
  type: 'cart.item_added',
  subject: 'cart/100% "Grüße" ✓',
  time: '2024-05-01T12:00:00Z',
  datacontenttype: 'application/json',
  data: { items: [1], item: 1 },
  sequence: 7,
  recordedtime: '2024-05-01T12:00:01Z',
  shopregion: 'eu',
} as CloudEvent;

describe('CloudEvents HTTP binding round trip', () => {
  it('binary-mode headers of a delivery decode back to the same attributes in the collector', () => {
    const { headers } = buildRequest({ contentMode: 'binary', headers: {}, secrets: [] } as unknown as Target, event, new Date());
    expect(binaryEvent(headers, event.data)).toMatchObject({ subject: event.subject, shopregion: 'eu', id: event.id, time: event.time, source: event.source });
  });
});
