import { describe, expect, it } from 'vitest';
import { meaningOf } from './sentences.ts';

describe('hub sentences', () => {
  const refunded = (amountCents: number, currency: string) => meaningOf('payment.refunded')!.sentence({ orderId: 'o', userId: 'u', amountCents, currency, reason: 'damaged' });

  it('formats amounts in their currency, the same again for a currency seen before', () => {
    expect(refunded(1500, 'EUR')).toBe('€15.00 refunded (damaged).');
    expect(refunded(250, 'GBP')).toBe('£2.50 refunded (damaged).');
    expect(refunded(99, 'EUR')).toBe('€0.99 refunded (damaged).');
  });

  it('writes the code after the amount for a code Intl does not take, every time', () => {
    expect(refunded(1500, 'EURO')).toBe('15.00 EURO refunded (damaged).');
    expect(refunded(700, 'EURO')).toBe('7.00 EURO refunded (damaged).');
  });
});
