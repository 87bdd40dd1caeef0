import { describe, expect, it } from 'vitest';
import { moderate } from './moderation.ts';

describe('review moderation', () => {
  it('lets an honest review through', () => {
    expect(moderate({ comment: 'Solid mug, keeps coffee warm. The handle is a bit small for large hands.' })).toEqual([]);
    expect(moderate({ comment: '' })).toEqual([]);
    expect(moderate({ comment: 'Good good, but the lid leaks.' })).toEqual([]);
  });

  it('flags links', () => {
    expect(moderate({ comment: 'Great! see https://cheap.example for more' })).toEqual(['link']);
    expect(moderate({ comment: 'visit www.deals.test' })).toEqual(['link']);
    expect(moderate({ comment: 'order at bestdeals.ru today' })).toEqual(['link']);
  });

  it('flags repeated text', () => {
    expect(moderate({ comment: 'buy buy buy buy now' })).toEqual(['repeated_text']);
    expect(moderate({ comment: 'WOW!!!!!!!!!!' })).toEqual(['repeated_text']);
    expect(moderate({ comment: 'great mug great price great shop great great seller ok' })).toEqual(['repeated_text']);
  });

  it('flags banned words, whole words only, and a configured list replaces the default', () => {
    expect(moderate({ comment: 'Best CASINO bonus' })).toEqual(['banned_word']);
    expect(moderate({ comment: 'Click  here, for free money' })).toEqual(['banned_word']);
    expect(moderate({ comment: 'occasional use only' })).toEqual([]);
    expect(moderate({ comment: 'this is rubbish' }, ['rubbish'])).toEqual(['banned_word']);
    expect(moderate({ comment: 'casino' }, ['rubbish'])).toEqual([]);
  });

  it('flags the same text posted again by the same reviewer', () => {
    const comment = 'Amazing product, everyone should get one today.';
    expect(moderate({ comment, previousTexts: ['Amazing product,  everyone should get one TODAY'] })).toEqual(['duplicate']);
    expect(moderate({ comment: 'Nice.', previousTexts: ['Nice.'] })).toEqual([]);
  });

  it('names every reason that applies, title included', () => {
    expect(moderate({ title: 'casino casino casino casino', comment: 'http://x.test' })).toEqual(['link', 'repeated_text', 'banned_word']);
  });
});
