/**
 * The head of a request — its URL (route parameters and query string) and headers — checked for
 * what Flamingo refuses on every route before any handler sees it (README "Security › Input"):
 * the NUL character (PostgreSQL cannot store it in text), bytes that are not UTF-8, and the field
 * names `__proto__`, `constructor` and `prototype` (as a query parameter, a header, or a `ce-`
 * header of a binary CloudEvent).
 */
import { isUtf8 } from 'node:buffer';
import type { FastifyRequest } from 'fastify';
import { PROTOTYPE_NAMES, prototypeNameMessage } from '../contracts/index.ts';
import { ApiError } from './errors.ts';

/** Anything but printable ASCII and tab: only such values need a closer look. */
const NOT_PLAIN = /[^\t\x20-\x7e]/;
/** A percent-encoded byte of 0x80 or more, or a raw byte over 0x7f, in a URL. */
const HIGH_BYTE = /%[89a-f][0-9a-f]|[\x80-\uffff]/i;

const nulError = (path: string) =>
  new ApiError(400, 'nul_character', 'the request holds a NUL character (U+0000), which Flamingo does not store', [
    { path, message: 'must not contain the NUL character (U+0000)' },
  ]);
const utf8Error = (path: string, what: string) =>
  new ApiError(400, 'invalid_utf8', `the ${what} is not valid UTF-8`, [{ path, message: 'must be encoded in UTF-8' }]);
const nameError = (path: string, name: string) =>
  new ApiError(400, 'forbidden_name', 'the request uses a field name reserved by JavaScript objects', [
    { path, message: prototypeNameMessage(name) },
  ]);

/** The bytes of a URL with every `%XX` decoded (a `%` without two hex digits stays as it is). */
function urlBytes(url: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 0x25 && /^[0-9a-f]{2}$/i.test(url.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(url.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(c & 0xff);
  }
  return Buffer.from(bytes);
}

/**
 * Why a URL that Fastify's router could not decode is refused: 400 `invalid_utf8` when its
 * percent-encoded bytes are not UTF-8 (`%FF`), else 400 `invalid_url` (a `%` without two hex digits).
 */
export function badUrl(url: string): ApiError {
  if (!isUtf8(urlBytes(url))) return utf8Error('/url', 'URL');
  return new ApiError(400, 'invalid_url', 'the URL is not validly percent-encoded', [{ path: '/url', message: 'must percent-encode with % and two hex digits (RFC 3986)' }]);
}

/** The first `/params/<name>` or `/query/<name>` whose name or value holds a NUL; `/url` when neither does. */
function whereNul(request: FastifyRequest): string {
  const params = (request.params ?? {}) as Record<string, unknown>;
  const query = (request.query ?? {}) as Record<string, unknown>;
  for (const [where, values] of [['params', params], ['query', query]] as const) {
    for (const name of Object.keys(values)) {
      const value = values[name];
      const texts = Array.isArray(value) ? value : [value];
      if (name.includes('\0') || texts.some((t) => typeof t === 'string' && t.includes('\0'))) return `/${where}/${name.replaceAll('\0', '\\u0000')}`;
    }
  }
  return '/url';
}

/**
 * Checks the URL and headers of a request; answers nothing when they are acceptable.
 * @throws ApiError 400 `nul_character` (a `%00` in the URL, naming `/params/<name>`, `/query/<name>`
 *   or `/url`), `invalid_utf8` (`/url`, or `/headers/<name>`) or `forbidden_name`
 *   (`/query/<name>`, `/headers/<name>`). A raw NUL in the URL or a header never gets here: Node's
 *   HTTP parser refuses it with 400.
 */
export function checkRequestHead(request: FastifyRequest): void {
  const url = request.url;
  if (url.includes('%00')) throw nulError(whereNul(request));
  if (HIGH_BYTE.test(url) && !isUtf8(urlBytes(url))) throw utf8Error('/url', 'URL');
  const query = request.query;
  if (typeof query === 'object' && query !== null) {
    for (const name of Object.keys(query)) if (PROTOTYPE_NAMES.has(name)) throw nameError(`/query/${name}`, name);
  }
  // The raw list: Node leaves a header named `__proto__` out of `request.headers`.
  const raw = request.raw.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    const bare = name.startsWith('ce-') ? name.slice(3) : name;
    if (PROTOTYPE_NAMES.has(bare)) throw nameError(`/headers/${name}`, bare);
    const value = raw[i + 1];
    // Node reads header bytes as Latin-1: one character per byte, so the bytes come back unchanged.
    if (NOT_PLAIN.test(value) && !isUtf8(Buffer.from(value, 'latin1'))) throw utf8Error(`/headers/${name}`, `${name} header`);
  }
}
