/**
 * Reading a request body as JSON, for every route at once (README "Security › Input"): the bytes
 * must be UTF-8, the text JSON, nested at most `maxDepth` levels, with no NUL character in any
 * string or field name and no field named `__proto__`, `constructor` or `prototype`.
 */
import { PROTOTYPE_NAMES, prototypeNameMessage } from '../contracts/index.ts';
import { ApiError, type ProblemDetail } from './errors.ts';

/** Nesting levels a body may have: `{}` and `[]` are one level, `{"a":[{}]}` three. */
export const DEFAULT_MAX_DEPTH = 32;

/** The most problems one answer lists. */
const MAX_DETAIL = 100;

// `fatal`: invalid UTF-8 is an error, never U+FFFD. `ignoreBOM`: a BOM stays in the text, so
// JSON.parse refuses it as before (RFC 8259 §8.1: JSON is sent without one).
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A JSON pointer segment (RFC 6901). */
const escapeSegment = (segment: string | number) => (typeof segment === 'number' ? String(segment) : segment.replaceAll('~', '~0').replaceAll('/', '~1'));

/** One container still to look into, and the way back to the root for naming it. */
interface Frame {
  readonly value: object;
  readonly depth: number;
  readonly parent: Frame | undefined;
  readonly segment: string | number;
}

function pointerOf(frame: Frame | undefined, last?: string | number): string {
  const segments: (string | number)[] = last === undefined ? [] : [last];
  for (let f = frame; f?.parent !== undefined; f = f.parent) segments.push(f.segment);
  return segments.length === 0 ? '/' : `/${segments.reverse().map(escapeSegment).join('/')}`;
}

type Kind = 'nul_character' | 'forbidden_name';
const MESSAGES: Record<Kind, string> = {
  nul_character: 'the body holds a NUL character (U+0000), which Flamingo does not store',
  forbidden_name: 'the body uses a field name reserved by JavaScript objects',
};

/**
 * Checks a parsed JSON value without recursion (an explicit stack, so no input can overflow the
 * call stack): at most `maxDepth` levels, no NUL in strings or names, no prototype names.
 * @param mayHoldNul false when the value is known to hold no NUL (its JSON text has no `\u0000`),
 *   to skip looking at every string. (Default: true)
 * @throws ApiError 400 `too_deep` (at the first container past the limit), `nul_character` or
 *   `forbidden_name` (each problem's path, up to 100; the code is that of the first found).
 */
export function checkJsonValue(root: unknown, maxDepth: number = DEFAULT_MAX_DEPTH, mayHoldNul = true): void {
  const problems: (ProblemDetail & { kind: Kind })[] = [];
  const report = (kind: Kind, path: string, message: string) => {
    if (problems.length < MAX_DETAIL) problems.push({ kind, path, message });
  };
  const tooDeep = (frame: Frame) =>
    new ApiError(400, 'too_deep', `the body is nested more than ${maxDepth} levels deep`, [
      { path: pointerOf(frame), message: `is nested ${frame.depth} levels deep; at most ${maxDepth} are accepted` },
    ]);
  if (typeof root === 'string' && mayHoldNul && root.includes('\0')) report('nul_character', '/', 'must not contain the NUL character (U+0000)');
  const stack: Frame[] = [];
  if (typeof root === 'object' && root !== null) stack.push({ value: root, depth: 1, parent: undefined, segment: '' });
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if (frame.depth > maxDepth) throw tooDeep(frame);
    const value = frame.value;
    const depth = frame.depth + 1;
    const array = Array.isArray(value);
    const names = array ? undefined : Object.keys(value);
    const length = array ? (value as unknown[]).length : names!.length;
    for (let i = 0; i < length; i++) {
      const segment = array ? i : names![i];
      if (!array) {
        const name = segment as string;
        if (PROTOTYPE_NAMES.has(name)) report('forbidden_name', pointerOf(frame, name), prototypeNameMessage(name));
        else if (mayHoldNul && name.includes('\0')) report('nul_character', pointerOf(frame, name), 'the field name must not contain the NUL character (U+0000)');
      }
      const child = (value as Record<string | number, unknown>)[segment];
      if (typeof child === 'object' && child !== null) stack.push({ value: child, depth, parent: frame, segment });
      else if (mayHoldNul && typeof child === 'string' && child.includes('\0')) report('nul_character', pointerOf(frame, segment), 'must not contain the NUL character (U+0000)');
    }
  }
  if (problems.length > 0) {
    const kind = problems[0].kind;
    throw new ApiError(400, kind, MESSAGES[kind], problems.map(({ path, message }) => ({ path, message })));
  }
}

/**
 * A request body as a JSON value, checked by `checkJsonValue`.
 * @throws ApiError 400 `invalid_utf8` (path `/`), `malformed_json`, `too_deep`, `nul_character`, `forbidden_name`.
 */
export function parseJsonBody(body: Uint8Array, maxDepth: number = DEFAULT_MAX_DEPTH): unknown {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new ApiError(400, 'invalid_utf8', 'the body is not valid UTF-8', [{ path: '/', message: 'must be encoded in UTF-8 (RFC 8259 §8.1)' }]);
  }
  if (text.trim() === '') throw new ApiError(400, 'malformed_json', 'the body is empty; expected JSON');
  let value: unknown;
  try {
    // V8's JSON.parse keeps its own stack, so deep input parses; the check below bounds it.
    value = JSON.parse(text);
  } catch (error) {
    throw new ApiError(400, 'malformed_json', `the body is not valid JSON: ${(error as Error).message}`);
  }
  // JSON.parse refuses a raw U+0000 in a string, so a NUL can only come from the escape `\u0000`.
  checkJsonValue(value, maxDepth, text.includes('\\u0000'));
  return value;
}
