/**
 * The one reading of a time for every input (event `time`, `ce-time`, the seed's `stamp` and
 * `event_time`, rewind positions, CLI options). `Date.parse` is not used: it rolls impossible dates
 * over (`2024-02-30` becomes 1 March) and reads a time without offset in the machine's time zone.
 * Hand-written because no library we use offers "RFC 3339, or ISO 8601 read as UTC" with both
 * refusals; ajv-formats checks RFC 3339 for the HTTP schemas by the same calendar rules.
 */

/** Date, `T` (or `t`, or a space), hours and minutes, optional seconds and fraction, optional offset. */
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?$/;

/** How strict a reading is. */
export interface TimeReadingOptions {
  /**
   * `rfc3339` (CloudEvents `time`): seconds and an offset are required. `utc`: ISO 8601 as
   * producers and people write it, seconds optional, and a time without offset is UTC.
   */
  readonly form: 'rfc3339' | 'utc';
}

/** The rule a refused time broke, for messages naming the field: `<field> must be …`. */
export const TIME_RULE: Record<TimeReadingOptions['form'], string> = {
  rfc3339: 'must be an RFC 3339 timestamp with an offset, on a real calendar date, such as 2024-05-01T12:00:00Z',
  utc: 'must be an ISO 8601 time on a real calendar date, such as 2024-05-01T12:00:00Z (without an offset it is read as UTC)',
};

const daysIn = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();

/**
 * Reads `text` as a time. Returns it as RFC 3339, the fraction kept as written and the offset as
 * given (`Z` when there was none; `+0530` written `+05:30`), or `undefined` when it is not a time
 * of that form or names an impossible moment (month 13, 30 February, 24:00, offset +24:00).
 */
export function readTime(text: unknown, options: TimeReadingOptions): string | undefined {
  if (typeof text !== 'string') return undefined;
  const m = DATETIME.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, fraction = '', zone] = m;
  if (options.form === 'rfc3339' && (s === undefined || zone === undefined)) return undefined;
  const offset = !zone || zone.toUpperCase() === 'Z' ? 'Z' : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone;
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s ?? '00'].map(Number);
  const valid =
    month >= 1 && month <= 12 && day >= 1 && day <= daysIn(year, month) && hour < 24 && minute < 60 && second < 60 &&
    (offset === 'Z' || (Number(offset.slice(1, 3)) < 24 && Number(offset.slice(4)) < 60));
  return valid ? `${y}-${mo}-${d}T${h}:${mi}:${s ?? '00'}${fraction}${offset}` : undefined;
}

/** `readTime` as milliseconds since the epoch, or `NaN`. */
export function timeMs(text: unknown, options: TimeReadingOptions): number {
  const read = readTime(text, options);
  return read === undefined ? Number.NaN : Date.parse(read);
}
