import { describe, expect, it } from 'vitest';
import { matchesTypes, typeSelection } from './match.ts';

describe('matchesTypes', () => {
  it('matches exact types, noun patterns and everything', () => {
    expect(matchesTypes(['order.placed'], 'order.placed')).toBe(true);
    expect(matchesTypes(['order.placed'], 'order.cancelled')).toBe(false);
    expect(matchesTypes(['order.*'], 'order.cancelled')).toBe(true);
    expect(matchesTypes(['order.*'], 'orders.cancelled')).toBe(false);
    expect(matchesTypes(['order.*'], 'order')).toBe(false);
    expect(matchesTypes(['payment.failed', 'order.*'], 'payment.failed')).toBe(true);
    expect(matchesTypes(['*'], 'anything.at_all')).toBe(true);
    expect(matchesTypes([], 'order.placed')).toBe(false);
  });

  it('splits patterns for storage queries', () => {
    expect(typeSelection(['order.*', 'payment.failed', 'order.*'])).toEqual({ all: false, exact: ['payment.failed'], prefixes: ['order.'] });
    expect(typeSelection(['order.placed', '*']).all).toBe(true);
  });
});
