import { describe, expect, it } from 'vitest';
import { arrayElementBytes } from './spans.ts';

const sizes = (text: string) => arrayElementBytes(Buffer.from(text));
/** Serialising each parsed element never gives more bytes than `arrayElementBytes` reports. */
const serialised = (text: string) => (JSON.parse(text) as unknown[]).map((e) => Buffer.byteLength(JSON.stringify(e)));

describe('arrayElementBytes', () => {
  it('gives the bytes of each element of a compact ASCII array, as serialised', () => {
    const text = JSON.stringify([{ a: 1, b: 'x,y]}' }, [1, [2, 3]], 'e"\\', null, true, 12.5]);
    expect(sizes(text)).toEqual(serialised(text));
  });

  it('counts 2 more for each byte over 0x7f, so an invalid UTF-8 byte (read as U+FFFD) stays within the bound', () => {
    expect(sizes('["é"]')).toEqual([8]);
    const invalid = Buffer.concat([Buffer.from('["'), Buffer.alloc(10, 0xff), Buffer.from('"]')]);
    const parsed = JSON.parse(invalid.toString('utf8')) as unknown[];
    const bound = arrayElementBytes(invalid)!;
    expect(bound).toEqual([32]);
    expect(Buffer.byteLength(JSON.stringify(parsed[0]))).toBeLessThanOrEqual(bound[0]);
  });

  it('counts whitespace around an element, an upper bound of its size', () => {
    expect(sizes(' [ {"a" : 1} ,\n  2 ]\n')).toEqual([11, 5]);
    expect(serialised(' [ {"a" : 1} ,\n  2 ]\n')).toEqual([7, 1]);
  });

  it('knows strings with escaped quotes and backslashes are not structure', () => {
    expect(sizes('["a\\"],[", "\\\\", "\\\\\\"{"]')).toEqual([8, 5, 8]);
  });

  it('gives -1 for an element holding a number with an exponent (it may grow when serialised)', () => {
    expect(sizes('[{"n":1e21},{"n":1.5E+3},{"ok":true,"f":false}]')).toEqual([-1, -1, 21]);
  });

  it('an empty array has no elements; text that is not an array gives undefined', () => {
    expect(sizes('[]')).toEqual([]);
    expect(sizes(' [ ] ')).toEqual([]);
    expect(sizes('{"a":[1,2]}')).toBeUndefined();
    expect(sizes('"[1]"')).toBeUndefined();
  });
});
