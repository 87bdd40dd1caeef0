import { describe, expect, it } from 'vitest';
import { consumerName, decodeToken, encodeToken, fnv1a32, namingFor, parseConsumerName, partitionOf, typeFilter, typeOfSubject } from './naming.ts';

describe('nats naming', () => {
  it('hashes keys with FNV-1a 32 over UTF-8, a stored format that must not change', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    expect(partitionOf('0190a000-0000-7000-8000-615f5f5f5f5f', 16)).toBe(partitionOf('0190a000-0000-7000-8000-615f5f5f5f5f', 16));
    const spread = new Set(Array.from({ length: 200 }, (_, i) => partitionOf(`order-${i}`, 16)));
    expect(spread.size).toBe(16);
  });

  it('encodes any subscription name or id into one subject token, reversibly and without collisions', () => {
    for (const value of ['orders', 'orders.saga', 'a~2eb', 'a.b', 'crème brûlée', 'x:y*z>', '0190a000-0000-7000-8000-000000000001']) {
      const token = encodeToken(value);
      expect(token).toMatch(/^[A-Za-z0-9_~-]+$/);
      expect(decodeToken(token)).toBe(value);
    }
    expect(encodeToken('orders.saga')).toBe('orders~2esaga');
    expect(encodeToken('a.b')).not.toBe(encodeToken('a~2eb'));
  });

  it('names consumers so that the subscription and role read back from the name', () => {
    for (const subscription of ['mailer', 'orders.saga', 'a__p3', 'x__all']) {
      expect(parseConsumerName(consumerName(subscription, { kind: 'partition', partition: 12 }))).toEqual({ subscription, role: { kind: 'partition', partition: 12 } });
      expect(parseConsumerName(consumerName(subscription, { kind: 'all' }))).toEqual({ subscription, role: { kind: 'all' } });
      expect(parseConsumerName(consumerName(subscription, { kind: 'redrive' }))).toEqual({ subscription, role: { kind: 'redrive' } });
    }
    expect(parseConsumerName('oc_xyz')).toBeUndefined();
  });

  it('maps type patterns to subject filters the way the bus matches them', () => {
    const naming = namingFor('FLAMINGO');
    expect(typeFilter(naming, 3, 'order.placed')).toBe('flamingo.3.order.placed');
    expect(typeFilter(naming, '*', 'order.*')).toBe('flamingo.*.order.>');
    expect(typeFilter(naming, 0, '*')).toBe('flamingo.0.>');
    expect(typeOfSubject(naming, 'flamingo.12.cart.item_added')).toBe('cart.item_added');
    expect(() => namingFor('bad.name')).toThrow();
  });
});
