import { describe, expect, it } from 'vitest';
import { catalog } from './index.ts';
import { MASK, markedFields, redactData, redactEvent } from './redaction.ts';

const placed = {
  type: 'order.placed',
  data: Object.freeze({
    orderId: 'o-1',
    userId: 'u-1',
    items: [{ productId: 'p', quantity: 1, unitPriceCents: 100 }],
    totalCents: 100,
    currency: 'EUR',
    paymentToken: 'tok_secret',
    email: 'ada@example.com',
    shippingAddress: { line1: '1 Main St', city: 'Bath', postalCode: 'BA1', country: 'GB' },
  }),
};

describe('redaction', () => {
  it('masks secrets by default and keeps personal data, without touching the original', () => {
    const redacted = redactEvent(placed);
    expect(redacted.data).toMatchObject({ paymentToken: MASK, email: 'ada@example.com', orderId: 'o-1' });
    expect(placed.data.paymentToken).toBe('tok_secret');
    expect(JSON.stringify(redacted)).not.toContain('tok_secret');
  });

  it('removes secrets and pseudonymises personal data when asked', () => {
    const data = redactData(placed.type, placed.data, { secrets: 'remove', personalData: (value, pointer) => `h(${pointer}:${JSON.stringify(value).length})` }) as Record<string, unknown>;
    expect('paymentToken' in data).toBe(false);
    expect(data.email).toBe('h(/email:17)');
    expect(typeof data.shippingAddress).toBe('string');
    expect(data.items).toBe(placed.data.items);
  });

  it('returns the same object when the type marks nothing or the fields are absent', () => {
    const added = { type: 'cart.item_added', data: { items: [1], item: 1 } };
    expect(redactEvent(added)).toBe(added);
    const withoutToken = { type: 'order.placed', data: { orderId: 'o' } };
    expect(redactEvent(withoutToken, { personalData: 'remove' })).toBe(withoutToken);
    expect(redactEvent({ type: 'no.such_type', data: { paymentToken: 'x' } }).data).toEqual({ paymentToken: 'x' });
  });

  it('knows the marked fields of every catalog type, and every secret is a pointer', () => {
    for (const entry of catalog) {
      const { secrets, personalData } = markedFields(entry.type);
      for (const pointer of [...secrets, ...personalData]) expect(pointer).toMatch(/^\//);
    }
    expect(markedFields('order.placed').secrets).toEqual(['/paymentToken']);
    expect(markedFields('cart.checked_out').secrets).toEqual(['/paymentToken']);
  });

  it('copies the data once for several marked fields, keeps the key order and own `__proto__` keys, and leaves the original whole', () => {
    const original = JSON.parse(
      '{"orderId":"o-2","__proto__":{"polluted":true},"paymentToken":"tok_secret","email":"ada@example.com","shippingAddress":{"city":"Bath"},"currency":"EUR"}',
    ) as Record<string, unknown>;
    const before = JSON.stringify(original);
    const data = redactData('order.placed', original, { secrets: 'remove', personalData: 'mask' }) as Record<string, unknown>;
    expect(JSON.stringify(data)).toBe('{"orderId":"o-2","__proto__":{"polluted":true},"email":"[redacted]","shippingAddress":"[redacted]","currency":"EUR"}');
    expect(Object.getPrototypeOf(data)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.stringify(original)).toBe(before);
    const removed = redactData('order.placed', original, { secrets: 'mask', personalData: 'remove' });
    expect(JSON.stringify(removed)).toBe('{"orderId":"o-2","__proto__":{"polluted":true},"paymentToken":"[redacted]","currency":"EUR"}');
  });
});
