import { describe, expect, it } from 'vitest';
import { buildEvent, buildEvents } from './envelope.ts';
import { EventValidationError, UnknownEventTypeError } from './errors.ts';

const cartId = '0190a000-0000-7000-8000-000000000001';
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('buildEvent', () => {
  it('builds the CloudEvents envelope with the catalog defaults', () => {
    const before = Date.now();
    const event = buildEvent({ type: 'cart.item_added', data: { cartId, items: [1, 2], item: 2 } });
    expect(event).toMatchObject({
      specversion: '1.0',
      source: '/flamingo',
      type: 'cart.item_added',
      subject: `cart/${cartId}`,
      partitionkey: cartId,
      datacontenttype: 'application/json',
      dataschema: 'flamingo:cart.item_added/v1',
      data: { cartId, items: [1, 2], item: 2 },
    });
    expect(event.id).toMatch(UUID_V7);
    expect(Date.parse(event.time)).toBeGreaterThanOrEqual(before - 1);
    expect(Object.keys(event)).toEqual(['specversion', 'id', 'source', 'type', 'subject', 'time', 'datacontenttype', 'dataschema', 'data', 'partitionkey']);
  });

  it('keeps what the producer set and resolves aliases to the catalog type', () => {
    const event = buildEvent(
      {
        type: 'item_added_to_cart',
        id: 'e-1',
        time: '2024-01-02T03:04:05Z',
        subject: 'cart/custom',
        partitionkey: 'k',
        correlationid: 'c',
        causationid: 'd',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        data: { items: [], item: 1 },
      },
      '/services/webshop',
    );
    expect(event).toMatchObject({ type: 'cart.item_added', id: 'e-1', source: '/services/webshop', time: '2024-01-02T03:04:05Z', subject: 'cart/custom', partitionkey: 'k', correlationid: 'c', causationid: 'd' });
  });

  it('leaves out subject and key when the data has no key', () => {
    const event = buildEvent({ type: 'cart.item_added', data: { items: [], item: 1 } });
    expect(event).not.toHaveProperty('subject');
    expect(event).not.toHaveProperty('partitionkey');
  });

  it('refuses unknown types', () => {
    expect(() => buildEvent({ type: 'order.teleported', data: {} })).toThrow(UnknownEventTypeError);
  });

  it('names every broken rule with a path relative to the event', () => {
    try {
      buildEvent({ type: 'cart.item_added', time: 'tomorrow', data: { items: ['x'], item: 1 } });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(EventValidationError);
      const issues = (error as EventValidationError).issues;
      expect(issues).toContainEqual({ path: '/data/items/0', message: expect.any(String) });
      expect(issues).toContainEqual({ path: '/time', message: expect.any(String) });
    }
  });

  it('gives the index of each invalid event of a batch', () => {
    try {
      buildEvents([
        { type: 'cart.item_added', data: { items: [], item: 1 } },
        { type: 'cart.item_added', data: { items: [] } },
      ]);
      expect.unreachable();
    } catch (error) {
      const issues = (error as EventValidationError).issues;
      expect(issues.length).toBeGreaterThan(0);
      expect(issues.every((issue) => issue.index === 1 && issue.path === '/data/item')).toBe(true);
    }
    expect(() => buildEvents([{ type: 'cart.item_added', data: { items: [], item: 1 } }, { type: 'nope', data: {} }])).toThrow(
      expect.objectContaining({ name: 'UnknownEventTypeError', index: 1 }),
    );
  });
});
