import type { IncomingHttpHeaders } from 'node:http';
import { ApiError } from '../platform/errors.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** Anything but printable ASCII and tab (Node refuses control characters in headers itself). */
const NOT_PLAIN = /[^\t\x20-\x7e]/;
/** A `%` not followed by two hex digits: not a percent-encoding, taken literally. */
const LITERAL_PERCENT = /%(?![0-9a-f]{2})/gi;

const headerError = (status: number, code: string, name: string, message: string) =>
  new ApiError(status, code, `the ${name} header ${message}`, [{ path: `/headers/${name}`, message }]);

/**
 * The CloudEvent of a binary-mode request (CloudEvents HTTP binding): attributes in `ce-*` headers,
 * the body as `data`. The W3C `traceparent`/`tracestate` headers count as the tracing extension.
 * The result is checked like a structured event; it is a null-prototype object, so a `ce-__proto__`
 * header is an attribute like any other (and refused as unknown), never the object's prototype.
 * @throws ApiError 400 `invalid_utf8` or `nul_character` naming `/headers/<name>` for a value that is
 *   not UTF-8 once percent-decoded, or that holds a NUL.
 */
export function binaryEvent(headers: IncomingHttpHeaders, body: unknown): Record<string, unknown> {
  const event = Object.create(null) as Record<string, unknown>;
  for (const [name, raw] of Object.entries(headers)) {
    if (!name.startsWith('ce-') || raw === undefined) continue;
    const value = Array.isArray(raw) ? raw.join(',') : raw;
    event[name.slice(3)] = decode(name, value);
  }
  for (const name of ['traceparent', 'tracestate'] as const) {
    const value = headers[name];
    if (event[name] === undefined && typeof value === 'string') event[name] = value;
  }
  event.data = body;
  return event;
}

/**
 * A header value as text: its bytes read as UTF-8 (Node hands them over as Latin-1), then
 * percent-decoded (CloudEvents HTTP binding 3.1.3.2): every `%XX` is decoded, and the bytes must be
 * UTF-8. A `%` without two hex digits after it is kept as it is.
 */
function decode(name: string, value: string): string {
  let text = value;
  if (NOT_PLAIN.test(text)) {
    try {
      text = utf8.decode(Buffer.from(text, 'latin1'));
    } catch {
      throw headerError(400, 'invalid_utf8', name, 'must be UTF-8');
    }
  }
  if (text.includes('%')) {
    try {
      // Every %XX is decoded, even beside a literal `%` (which a producer should have sent as %25).
      text = decodeURIComponent(text.replace(LITERAL_PERCENT, '%25'));
    } catch {
      throw headerError(400, 'invalid_utf8', name, 'must be percent-encoded UTF-8');
    }
  }
  if (text.includes('\0')) throw headerError(400, 'nul_character', name, 'must not contain the NUL character (U+0000)');
  return text;
}

/** True when the request carries a binary-mode CloudEvent. */
export const isBinaryMode = (headers: IncomingHttpHeaders): boolean => headers['ce-specversion'] !== undefined;
