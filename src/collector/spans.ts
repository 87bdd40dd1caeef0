const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const isDigit = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x39;

/**
 * An upper bound of the bytes each element of a JSON array takes once parsed and serialised again
 * (`JSON.stringify`), read from the text without parsing: its bytes (whitespace around it included),
 * plus 2 for each byte over 0x7f (an invalid UTF-8 byte is read as U+FFFD, 3 bytes). Serialising
 * never makes anything else longer, except a number written with an exponent (`1e9`): such an
 * element is given as -1, to be measured another way.
 * @param json the text of a JSON array that `JSON.parse` accepted.
 * @returns one entry per element, or undefined when the text is not an array.
 */
export function arrayElementBytes(json: Uint8Array): number[] | undefined {
  const n = json.length;
  let i = 0;
  while (i < n && json[i] !== OPEN_BRACKET) {
    if (json[i] > 0x20) return undefined;
    i++;
  }
  i++;
  let depth = 0;
  let start = i;
  let exponent = false;
  let blank = true;
  let high = 0;
  const sizes: number[] = [];
  for (; i < n; i++) {
    const c = json[i];
    if (c === QUOTE) {
      i++;
      while (i < n) {
        const d = json[i];
        if (d === QUOTE) break;
        if (d > 0x7f) high++;
        i += d === BACKSLASH ? 2 : 1;
      }
      blank = false;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth++;
      blank = false;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (depth === 0) {
        if (!blank) sizes.push(exponent ? -1 : i - start + 2 * high);
        return sizes;
      }
      depth--;
    } else if (c === COMMA) {
      if (depth === 0) {
        sizes.push(exponent ? -1 : i - start + 2 * high);
        start = i + 1;
        exponent = false;
        high = 0;
        blank = true;
      }
    } else if (c > 0x20) {
      blank = false;
      if ((c === 0x65 || c === 0x45) && isDigit(json[i - 1])) exponent = true;
    }
  }
  return undefined;
}

/**
 * The size of an event, the one measure of the event size limit on every endpoint: the bytes of
 * its compact JSON in UTF-8, as it is stored (no whitespace; `\u00e9` counts as the 2 bytes of `é`,
 * not 6). `rawBytes`, the length of the text as sent, stands in when it is within `maxBytes`: the
 * compact form of a JSON text is never longer, except for exponent numbers (`1e5`), which the
 * catalog's schemas bound anyway; only a text over the limit is serialised to be measured exactly.
 */
export function eventBytes(value: unknown, rawBytes: number, maxBytes: number): number {
  return rawBytes <= maxBytes ? rawBytes : Buffer.byteLength(JSON.stringify(value) ?? '');
}
