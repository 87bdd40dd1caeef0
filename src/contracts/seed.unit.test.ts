import { describe, expect, it } from 'vitest';
import { fromSeedEnvelope, normalizeSeedDatetime } from './index.ts';

const EVENT_ID = '5d0c8b9e-8a4e-4f5b-9a6c-2f1e3d4c5b6a';
const CUSTOMER = '6f1c1f3e-3c7a-4b8e-9d2a-0d6a3b7b2c11';

/** What the seed 000 Python producer sends (pydantic `.json()` of an EventEnvelope). */
const seedBody = (event: Record<string, unknown> = {}, envelope: Record<string, unknown> = {}) => ({
  event_id: EVENT_ID,
  stamp: '2024-05-01T10:00:00.654321',
  event: { event_name: 'item_added_to_cart', event_time: '2024-05-01T10:00:00.123456', customer_id: CUSTOMER, items: [1, 2], item: 3, ...event },
  ...envelope,
});

const issuesOf = (body: unknown) => {
  const result = fromSeedEnvelope(body);
  if (result.ok) throw new Error('expected a rejection');
  return { status: result.status, paths: result.issues.map((i) => i.path) };
};

describe('fromSeedEnvelope', () => {
  it('maps the seed envelope to a canonical event, naive datetimes as UTC', () => {
    expect(fromSeedEnvelope(seedBody())).toEqual({
      ok: true,
      event: {
        id: EVENT_ID,
        type: 'cart.item_added',
        time: '2024-05-01T10:00:00.123456Z',
        stamp: '2024-05-01T10:00:00.654321Z',
        data: { customer_id: CUSTOMER, items: [1, 2], item: 3 },
      },
    });
  });

  it('keeps a null or absent customer and an absent stamp', () => {
    const guest = fromSeedEnvelope(seedBody({ customer_id: null }, { stamp: undefined }));
    expect(guest.ok && guest.event.data).toEqual({ customer_id: null, items: [1, 2], item: 3 });
    expect(guest.ok && 'stamp' in guest.event).toBe(false);
    const { customer_id: _omitted, ...anonymous } = seedBody().event;
    const absent = fromSeedEnvelope({ event_id: EVENT_ID, event: anonymous });
    expect(absent.ok && absent.event.data).toEqual({ items: [1, 2], item: 3 });
  });

  it('accepts canonical names and lower-cases the id', () => {
    const result = fromSeedEnvelope(seedBody({ event_name: 'cart.item_added' }, { event_id: EVENT_ID.toUpperCase() }));
    expect(result.ok && [result.event.type, result.event.id]).toEqual(['cart.item_added', EVENT_ID]);
  });

  it('answers 422 for an unknown event name', () => {
    expect(issuesOf(seedBody({ event_name: 'item_teleported' }))).toEqual({ status: 422, paths: ['/event/event_name'] });
  });

  it('answers 400 naming every envelope problem at once', () => {
    expect(issuesOf('nope')).toEqual({ status: 400, paths: ['/'] });
    expect(issuesOf({})).toEqual({ status: 400, paths: ['/event_id', '/event'] });
    expect(issuesOf(seedBody({ event_time: 'yesterday' }, { event_id: '42', stamp: '2024-13-01T00:00:00' }))).toEqual({
      status: 400,
      paths: ['/event_id', '/stamp', '/event/event_time'],
    });
    expect(issuesOf({ event_id: EVENT_ID, event: { items: [] } })).toEqual({ status: 400, paths: ['/event/event_name', '/event/event_time'] });
    expect(issuesOf({ event_id: EVENT_ID, event: [1] })).toEqual({ status: 400, paths: ['/event'] });
  });

  it('leaves data to the bus, or checks it on request with paths inside the body', () => {
    const bad = seedBody({ items: ['x', 2], item: 'y' });
    expect(fromSeedEnvelope(bad).ok).toBe(true);
    const checked = fromSeedEnvelope(bad, { validateData: true });
    expect(checked.ok).toBe(false);
    if (!checked.ok) {
      expect(checked.status).toBe(422);
      expect(checked.issues.map((i) => i.path)).toEqual(expect.arrayContaining(['/event/items/0', '/event/item']));
    }
    expect(fromSeedEnvelope(seedBody(), { validateData: true }).ok).toBe(true);
  });
});

describe('normalizeSeedDatetime', () => {
  it.each([
    ['2024-05-01T10:00:00', '2024-05-01T10:00:00Z'],
    ['2024-05-01 10:00:00.5', '2024-05-01T10:00:00.5Z'],
    ['2024-05-01T10:00', '2024-05-01T10:00:00Z'],
    ['2024-05-01T10:00:00.123456+02:00', '2024-05-01T10:00:00.123456+02:00'],
    ['2024-05-01T10:00:00+0530', '2024-05-01T10:00:00+05:30'],
    ['2024-05-01T10:00:00z', '2024-05-01T10:00:00Z'],
  ])('%s → %s', (input, output) => {
    expect(normalizeSeedDatetime(input)).toBe(output);
    expect(Number.isNaN(Date.parse(output))).toBe(false);
  });

  it.each(['2024-02-30T10:00:00', '2024-05-01T24:00:00', '2024-05-01', '1714557600', '2024-05-01T10:00:00+25:00'])('rejects %s', (input) => {
    expect(normalizeSeedDatetime(input)).toBeUndefined();
  });
});

describe('fromSeedEnvelope and prototype field names (issue 7, item 2)', () => {
  it.each(['__proto__', 'constructor', 'prototype'])('refuses an event field named %s instead of copying it onto data', (name) => {
    // JSON.parse makes "__proto__" an own field, as the HTTP body would be before the parser refused it.
    const body = JSON.parse(`{"event_id":"${EVENT_ID}","event":{"event_name":"item_added_to_cart","event_time":"2024-05-01T10:00:00","${name}":{"items":[1,2],"item":2}}}`);
    expect(fromSeedEnvelope(body)).toEqual({ ok: false, status: 400, issues: [{ path: `/event/${name}`, message: expect.stringMatching(/not accepted as a field name/) }] });
  });

  it('copies the fields onto a null-prototype object', () => {
    const result = fromSeedEnvelope(seedBody());
    expect(result.ok && Object.getPrototypeOf(result.event.data)).toBeNull();
  });
});
