/**
 * Event identity over HTTP (CloudEvents 1.0: `source` + `id` identify an event): two producers'
 * events with one id are both kept; a UUID is one event in any case on every endpoint; the same
 * identity with other content answers 409 naming the stored sequence and stores nothing, while an
 * identical resend stays an idempotent 2xx — structured, binary, batch and the seed's `/event`.
 */
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
let key: string;
beforeAll(async () => {
  server = await startTestServer();
  key = await server.producerKey('webshop');
});
afterAll(() => server?.stop());

const CART = '0190a000-0000-7000-8000-00000000c0de';
const data = (item: number) => ({ cartId: CART, items: [item], item });
const structured = (body: unknown, headers: Record<string, string> = {}) =>
  server.request('POST', '/v1/events', { key, contentType: 'application/cloudevents+json', body, headers });
const batch = (body: unknown) => server.request('POST', '/v1/events', { key, contentType: 'application/cloudevents-batch+json', body });
const binary = (id: string, source: string, body: unknown, headers: Record<string, string> = {}) =>
  server.request('POST', '/v1/events', {
    key,
    contentType: 'application/json',
    headers: { 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': source, 'ce-type': 'cart.item_added', ...headers },
    body,
  });
const storedWith = async (id: string) => {
  const { body } = await server.request('GET', '/v1/events?limit=1000');
  return (body.events as { id: string; source: string; sequence: number; data: unknown }[]).filter((e) => e.id === id);
};
const event = (id: string, source: string, item: number) => ({ specversion: '1.0', id, source, type: 'cart.item_added', data: data(item) });

describe('event identity is source + id', () => {
  it('two producers that both number their events from 1 keep both events', async () => {
    const a = await structured(event('1', '/shop-a', 1));
    const b = await structured(event('1', '/shop-b', 2));
    const c = await binary('1', '/shop-c', data(3));
    expect([a.status, b.status, c.status]).toEqual([202, 202, 202]);
    expect([a.body.duplicate, b.body.duplicate, c.body.duplicate]).toEqual([false, false, false]);
    expect((await storedWith('1')).map((e) => [e.source, e.data])).toEqual([
      ['/shop-a', data(1)],
      ['/shop-b', data(2)],
      ['/shop-c', data(3)],
    ]);
  });

  it('a UUID is one event in any case: structured, binary, batch; answered and stored in lower case', async () => {
    const id = uuidv7();
    const upper = id.toUpperCase();
    const first = await binary(upper, '/shop-a', data(1), { 'ce-time': '2024-05-01T12:00:00Z' });
    expect(first.status).toBe(202);
    expect(first.body).toEqual({ id, sequence: expect.any(Number), duplicate: false });
    const again = await structured({ ...event(id, '/shop-a', 1), time: '2024-05-01T12:00:00Z' });
    expect(again.body).toEqual({ id, sequence: first.body.sequence, duplicate: true });
    const inBatch = await batch([{ ...event(upper, '/shop-a', 1), time: '2024-05-01T12:00:00Z' }]);
    expect(inBatch.body.events).toEqual([{ id, sequence: first.body.sequence, duplicate: true }]);
    expect(await storedWith(id)).toHaveLength(1);
  });

  it('a batch giving one UUID twice in two cases (same source) with other content is refused naming /1/id', async () => {
    const id = uuidv7();
    const before = await server.eventCount();
    const response = await batch([event(id, '/shop-a', 1), event(id.toUpperCase(), '/shop-a', 2)]);
    expect(response.status).toBe(422);
    expect(response.body.detail).toEqual([{ path: '/1/id', message: expect.stringMatching(/repeats the id of event 0/) }]);
    expect(await server.eventCount()).toBe(before);
  });

  it('the seed envelope: an upper-case event_id is answered and stored in lower case, and is one event', async () => {
    const id = uuidv7();
    const envelope = (eventId: string, item: number) => ({ event_id: eventId, event: { event_name: 'item_added_to_cart', event_time: '2024-05-01T12:00:00Z', items: [item], item } });
    const first = await server.request('POST', '/event', { key: null, body: envelope(id.toUpperCase(), 1) });
    expect(first.status, first.text).toBe(201);
    expect(first.body).toEqual({ event_id: id, status: 'ok' });
    const again = await server.request('POST', '/event', { key: null, body: envelope(id, 1) });
    expect(again.body).toEqual({ event_id: id, status: 'ok' });
    expect(await storedWith(id)).toHaveLength(1);
  });
});

describe('the same identity with other content is 409 naming the stored sequence; nothing is stored', () => {
  it('structured and binary: other data, another attribute; an identical resend (new trace, no time) stays 202', async () => {
    const id = uuidv7();
    const first = await structured({ ...event(id, '/shop-a', 1), shopregion: 'eu' });
    expect(first.status).toBe(202);
    const sequence = first.body.sequence as number;
    const resend = await structured({ ...event(id, '/shop-a', 1), shopregion: 'eu' }, { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    expect(resend.status).toBe(202);
    expect(resend.body).toEqual({ id, sequence, duplicate: true });
    const before = await server.eventCount();
    for (const response of [
      await structured({ ...event(id, '/shop-a', 2), shopregion: 'eu' }),
      await structured({ ...event(id, '/shop-a', 1), shopregion: 'us' }),
      await binary(id.toUpperCase(), '/shop-a', data(1), { 'ce-shopregion': 'eu', 'ce-subject': 'cart/other' }),
    ]) {
      expect(response.status, response.text).toBe(409);
      expect(response.body).toEqual({
        error: 'event_conflict',
        message: expect.stringContaining(`already stored at sequence ${sequence} with different content`),
        detail: [{ path: '/id', message: `source "/shop-a" and id "${id}" are stored at sequence ${sequence} with different content` }],
      });
    }
    expect(await server.eventCount()).toBe(before);
    expect(await storedWith(id)).toEqual([expect.objectContaining({ sequence, data: data(1), shopregion: 'eu' })]);
  });

  it('batch: 409 naming /<index>/id and the stored sequence, none of the batch stored; the batch resent unchanged is all duplicates', async () => {
    const id = uuidv7();
    const first = await structured(event(id, '/shop-a', 1));
    const sequence = first.body.sequence as number;
    const fresh = uuidv7();
    const before = await server.eventCount();
    const refused = await batch([event(fresh, '/shop-a', 5), event(id, '/shop-a', 9)]);
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body.detail).toEqual([{ path: '/1/id', message: `source "/shop-a" and id "${id}" are stored at sequence ${sequence} with different content` }]);
    expect(await server.eventCount()).toBe(before);
    expect(await storedWith(fresh)).toEqual([]);
    const good = [event(fresh, '/shop-a', 5), event(id, '/shop-a', 1)];
    const accepted = await batch(good);
    expect(accepted.status).toBe(202);
    expect(accepted.body.events[1]).toEqual({ id, sequence, duplicate: true });
    const resent = await batch(good);
    expect(resent.body.events.map((e: { duplicate: boolean }) => e.duplicate)).toEqual([true, true]);
  });

  it('the seed envelope: other data under a stored event_id is 409 naming /event_id', async () => {
    const id = uuidv7();
    const envelope = (item: number) => ({ event_id: id, event: { event_name: 'item_added_to_cart', event_time: '2024-05-01T12:00:00Z', items: [item], item } });
    const first = await server.request('POST', '/event', { key: null, body: envelope(1) });
    expect(first.status).toBe(201);
    const [stored] = await storedWith(id);
    const before = await server.eventCount();
    const changed = await server.request('POST', '/event', { key: null, body: envelope(2) });
    expect(changed.status, changed.text).toBe(409);
    expect(changed.body.detail).toEqual([{ path: '/event_id', message: `source "/seed" and id "${id}" are stored at sequence ${stored.sequence} with different content` }]);
    expect(await server.eventCount()).toBe(before);
    expect((await server.request('POST', '/event', { key: null, body: envelope(1) })).status).toBe(201);
  });
});
