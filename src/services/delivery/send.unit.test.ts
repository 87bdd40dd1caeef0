import { describe, expect, it } from 'vitest';
import type { CloudEvent } from '../../contracts/index.ts';
import { buildRequest } from './send.ts';
import type { Target } from './targets.ts';

const event = {
  specversion: '1.0',
  id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
  source: '/dapr',
  type: 'cart.item_added',
  time: '2024-05-01T12:00:00Z',
  datacontenttype: 'application/json',
  data: { items: [1], item: 1 },
  sequence: 7,
  recordedtime: '2024-05-01T12:00:01Z',
  subject: 'cart/100% "Grüße" ✓',
  shopregion: 'eu',
  retries: 2,
} as CloudEvent;
const target = (contentMode: 'structured' | 'binary') => ({ contentMode, headers: {}, secrets: [] }) as unknown as Target;

describe('buildRequest', () => {
  it('hands extension attributes to the target: in the JSON body (structured) or as ce-* headers (binary)', () => {
    const structured = buildRequest(target('structured'), event, new Date());
    expect(JSON.parse(structured.body)).toMatchObject({ shopregion: 'eu', retries: 2 });
    const binary = buildRequest(target('binary'), event, new Date());
    expect(binary.headers).toMatchObject({ 'ce-shopregion': 'eu', 'ce-retries': '2' });
  });

});
