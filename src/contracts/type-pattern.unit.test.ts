import { describe, expect, it } from 'vitest';
import { isTypePattern, matchesTypePattern, matchesTypes } from './type-pattern.ts';

describe('event type patterns', () => {
  it('knows well-formed patterns', () => {
    expect(['*', 'order.*', 'cart.item_added', 'order.placed'].every(isTypePattern)).toBe(true);
    expect(['', 'order.', '*.placed', 'Order.Placed', 'order.**', 'a b'].some(isTypePattern)).toBe(false);
  });
  it('matches types', () => {
    expect(matchesTypePattern('*', 'order.placed')).toBe(true);
    expect(matchesTypePattern('order.*', 'order.placed')).toBe(true);
    expect(matchesTypePattern('order.*', 'orders.placed')).toBe(false);
    expect(matchesTypePattern('cart.item_added', 'cart.item_added')).toBe(true);
    expect(matchesTypePattern('cart.item_added', 'cart.item_removed')).toBe(false);
  });
  it('matches a list: any pattern, none for an empty list', () => {
    expect(matchesTypes(['payment.failed', 'order.*'], 'order.placed')).toBe(true);
    expect(matchesTypes(['order.*'], 'order')).toBe(false);
    expect(matchesTypes([], 'order.placed')).toBe(false);
  });
});
