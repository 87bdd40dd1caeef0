import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './config.ts';
import { readSettings } from './settings.ts';

const schema = Type.Object({
  FLAMINGO_X_MS: Type.Integer({ minimum: 100, maximum: 1000, default: 500 }),
  FLAMINGO_X_WORDS: Type.String({ default: '' }),
  FLAMINGO_X_ON: Type.Boolean({ default: false }),
});

describe('a service settings schema', () => {
  it('gives the defaults for unset and blank settings', () => {
    expect(readSettings(schema, { FLAMINGO_X_MS: ' ' })).toEqual({ FLAMINGO_X_MS: 500, FLAMINGO_X_WORDS: '', FLAMINGO_X_ON: false });
  });

  it('reads numbers, text and switches', () => {
    expect(readSettings(schema, { FLAMINGO_X_MS: '100', FLAMINGO_X_WORDS: 'a,b', FLAMINGO_X_ON: 'yes' })).toEqual({ FLAMINGO_X_MS: 100, FLAMINGO_X_WORDS: 'a,b', FLAMINGO_X_ON: true });
  });

  it('refuses bad values with one line per setting, naming it and its rule', () => {
    let error: unknown;
    try {
      readSettings(schema, { FLAMINGO_X_MS: '1.5', FLAMINGO_X_ON: 'maybe' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'FLAMINGO_X_MS: must be a whole number from 100 to 1000, got "1.5"',
      'FLAMINGO_X_ON: must be 1/true/yes/on or 0/false/no/off, got "maybe"',
    ]);
    expect(() => readSettings(schema, { FLAMINGO_X_MS: '5000' })).toThrow('FLAMINGO_X_MS: must be a whole number from 100 to 1000, got "5000"');
    expect(() => readSettings(schema, { FLAMINGO_X_MS: '10s' })).toThrow(/FLAMINGO_X_MS/);
  });
});
