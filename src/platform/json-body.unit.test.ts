import { describe, expect, it } from 'vitest';
import { ApiError } from './errors.ts';
import { checkJsonValue, DEFAULT_MAX_DEPTH, parseJsonBody } from './json-body.ts';

/** The ApiError `run` throws, as its status and body. */
function refusal(run: () => unknown) {
  try {
    run();
  } catch (error) {
    if (error instanceof ApiError) return { status: error.status, ...error.toBody() };
    throw error;
  }
  throw new Error('expected a refusal');
}

const nested = (levels: number, inner = '1') => '['.repeat(levels) + inner + ']'.repeat(levels);
const text = (value: string) => Buffer.from(value);

describe('parseJsonBody', () => {
  it('reads UTF-8 JSON', () => {
    expect(parseJsonBody(text('{"name":"Zoë","items":[1,{"a":null}]}'))).toEqual({ name: 'Zoë', items: [1, { a: null }] });
  });

  it('refuses bytes that are not UTF-8 instead of reading them as U+FFFD', () => {
    const body = Buffer.concat([text('{"name":"'), Buffer.from([0xff, 0xfe]), text('"}')]);
    expect(refusal(() => parseJsonBody(body))).toEqual({
      status: 400,
      error: 'invalid_utf8',
      message: 'the body is not valid UTF-8',
      detail: [{ path: '/', message: expect.stringMatching(/UTF-8/) }],
    });
    // An overlong encoding and a lone surrogate are not UTF-8 either.
    expect(refusal(() => parseJsonBody(Buffer.from([0x22, 0xc0, 0xaf, 0x22]))).error).toBe('invalid_utf8');
    expect(refusal(() => parseJsonBody(Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]))).error).toBe('invalid_utf8');
  });

  it('refuses an empty body and malformed JSON', () => {
    expect(refusal(() => parseJsonBody(text('  ')))).toMatchObject({ status: 400, error: 'malformed_json' });
    expect(refusal(() => parseJsonBody(text('{"a":')))).toMatchObject({ status: 400, error: 'malformed_json' });
  });

  it(`accepts ${DEFAULT_MAX_DEPTH} levels and refuses one more, naming where the limit was passed`, () => {
    expect(parseJsonBody(text(nested(DEFAULT_MAX_DEPTH)))).toBeDefined();
    const tooDeep = refusal(() => parseJsonBody(text(`{"data":{"x":${nested(DEFAULT_MAX_DEPTH)}}}`)));
    expect(tooDeep).toEqual({
      status: 400,
      error: 'too_deep',
      message: `the body is nested more than ${DEFAULT_MAX_DEPTH} levels deep`,
      detail: [{ path: `/data/x${'/0'.repeat(DEFAULT_MAX_DEPTH - 2)}`, message: `is nested ${DEFAULT_MAX_DEPTH + 1} levels deep; at most ${DEFAULT_MAX_DEPTH} are accepted` }],
    });
  });

  it('checks a million levels without overflowing the call stack (the check does not recurse)', () => {
    const deep = JSON.parse(nested(1_000_000));
    expect(() => checkJsonValue(deep, 2_000_000)).not.toThrow();
    expect(refusal(() => checkJsonValue(deep))).toMatchObject({ status: 400, error: 'too_deep' });
  });

  it('refuses a NUL character in any string or field name, naming each path', () => {
    expect(refusal(() => parseJsonBody(text('{"email":"a\\u0000@example.com","items":[{"name":"ok"},"x\\u0000"],"k\\u0000":1}')))).toEqual({
      status: 400,
      error: 'nul_character',
      message: expect.stringMatching(/NUL/),
      detail: expect.arrayContaining([
        { path: '/email', message: 'must not contain the NUL character (U+0000)' },
        { path: '/items/1', message: 'must not contain the NUL character (U+0000)' },
        { path: '/k\u0000', message: 'the field name must not contain the NUL character (U+0000)' },
      ]),
    });
    expect(refusal(() => parseJsonBody(text('"\\u0000"')))).toMatchObject({ error: 'nul_character', detail: [{ path: '/' }] });
  });

  it.each(['__proto__', 'constructor', 'prototype'])('refuses %s as a field name at any depth, escaped or not', (name) => {
    expect(refusal(() => parseJsonBody(text(`{"event":{"${name}":{"items":[1,2],"item":2}}}`)))).toEqual({
      status: 400,
      error: 'forbidden_name',
      message: 'the body uses a field name reserved by JavaScript objects',
      detail: [{ path: `/event/${name}`, message: `"${name}" is not accepted as a field name (prototype pollution)` }],
    });
    const escaped = `\\u00${name.charCodeAt(0).toString(16)}${name.slice(1)}`;
    expect(refusal(() => parseJsonBody(text(`[{"a/b~":{"${escaped}":1}}]`))).detail).toEqual([
      { path: `/0/a~1b~0/${name}`, message: expect.any(String) },
    ]);
    // As a value it is only text.
    expect(parseJsonBody(text(`{"note":"${name}"}`))).toEqual({ note: name });
  });
});
