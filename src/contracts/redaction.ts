/**
 * One redaction step for events leaving the bus (DESIGN.md "Security"): the catalog marks each
 * type's secrets (`secrets`, e.g. a payment token meant for payments alone) and personal data
 * (`personalData`, e.g. e-mail and address) as JSON pointers into `data`. Every way out — read
 * APIs, the CLI, logs, the hub, the warehouse, deliveries — passes events through `redactEvent`,
 * choosing what it needs: secrets never leave (masked or removed); personal data is kept, removed,
 * masked or pseudonymised, as the reader's purpose allows.
 *
 * The log itself keeps events whole: the one consumer a secret is meant for (payments reads the
 * payment token of `order.placed`) gets it from its subscription, which is not a way out.
 */
import type { CloudEvent } from './envelope.ts';
import { findDefinition } from './validate.ts';

/** What replaces a masked value. */
export const MASK = '[redacted]';

/**
 * What becomes of a marked field:
 * - `keep`: left as it is;
 * - `mask`: replaced by `"[redacted]"` (the reader sees that something was there);
 * - `remove`: the field is left out;
 * - a function: replaced by what it returns (e.g. a keyed hash, to pseudonymise: equal inputs give
 *   equal outputs, so the field can still be joined on, but not read back).
 */
export type RedactionPolicy = 'keep' | 'mask' | 'remove' | ((value: unknown, pointer: string) => unknown);

export interface RedactionOptions {
  /** Secrets: never `keep` here; use the subscription if the secret is meant for you. (Default: `mask`) */
  readonly secrets?: Exclude<RedactionPolicy, 'keep'>;
  /** Personal data. (Default: `keep`) */
  readonly personalData?: RedactionPolicy;
}

/** The marked pointers of a type (aliases resolved); empty for a type the catalog does not know. */
export function markedFields(type: string): { readonly secrets: readonly string[]; readonly personalData: readonly string[] } {
  const definition = findDefinition(type);
  return { secrets: definition?.secrets ?? [], personalData: definition?.personalData ?? [] };
}

/**
 * `data` of an event of `type` with its marked fields redacted. Returns `data` itself when nothing
 * changes, else a copy: the original (often shared, frozen) is never modified. A pointer segment
 * `*` stands for every element of an array (or every value of an object).
 */
export function redactData(type: string, data: unknown, options: RedactionOptions = {}): unknown {
  const { secrets, personalData } = markedFields(type);
  const secretPolicy = options.secrets ?? 'mask';
  const personalPolicy = options.personalData ?? 'keep';
  if (secrets.length === 0 && (personalPolicy === 'keep' || personalData.length === 0)) return data;
  // Containers copied by this call: later pointers change them in place instead of copying again.
  const copies = new Set<object>();
  let result = data;
  for (const pointer of secrets) result = applyAt(result, segmentsOf(pointer), 0, secretPolicy, pointer, copies);
  if (personalPolicy !== 'keep') for (const pointer of personalData) result = applyAt(result, segmentsOf(pointer), 0, personalPolicy, pointer, copies);
  return result;
}

/** The event with its `data` redacted (see `redactData`); the same object when nothing changes. */
export function redactEvent<E extends Pick<CloudEvent, 'type' | 'data'>>(event: E, options: RedactionOptions = {}): E {
  const data = redactData(event.type, event.data, options);
  return data === event.data ? event : { ...event, data };
}

/** Pointers of the catalog, split once. */
const SEGMENTS = new Map<string, readonly string[]>();

/** RFC 6901 pointer segments (`~1` is `/`, `~0` is `~`). */
function segmentsOf(pointer: string): readonly string[] {
  let segments = SEGMENTS.get(pointer);
  if (segments === undefined) {
    segments = pointer
      .split('/')
      .slice(1)
      .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
    // Pointers come from the catalog: a bounded set.
    if (SEGMENTS.size < 10_000) SEGMENTS.set(pointer, segments);
  }
  return segments;
}

const isContainer = (value: unknown): value is Record<string, unknown> | unknown[] => typeof value === 'object' && value !== null;
const own = (container: object, key: string) => Object.prototype.hasOwnProperty.call(container, key);
/** Sets an own property even when the key is `__proto__` (plain assignment would set the prototype). */
const setOwn = (container: object, key: string, value: unknown) => {
  if (key === '__proto__') Object.defineProperty(container, key, { value, enumerable: true, writable: true, configurable: true });
  else (container as Record<string, unknown>)[key] = value;
};

/**
 * A shallow copy of `value` (own enumerable properties) without `omit`, built key by key rather
 * than copied then deleted from (a deleted key leaves a slow object behind, slow to serialise).
 */
function copyOf(value: Record<string, unknown> | unknown[], omit?: string): Record<string, unknown> | unknown[] {
  if (Array.isArray(value)) return [...value];
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) if (key !== omit) setOwn(copy, key, value[key]);
  return copy;
}

/** `value` with `policy` applied at `segments[at…]`, copying (once) only the containers on the way. */
function applyAt(
  value: unknown,
  segments: readonly string[],
  at: number,
  policy: Exclude<RedactionPolicy, 'keep'>,
  pointer: string,
  copies: Set<object>,
): unknown {
  if (at === segments.length || !isContainer(value)) return value;
  const head = segments[at]!;
  const last = at === segments.length - 1;
  const keys = head === '*' ? Object.keys(value) : own(value, head) ? [head] : [];
  let copy: Record<string, unknown> | unknown[] | undefined = copies.has(value) ? value : undefined;
  for (const key of keys) {
    const current = (value as Record<string, unknown>)[key];
    if (!last) {
      const next = applyAt(current, segments, at + 1, policy, pointer, copies);
      if (next === current) continue;
      if (copy === undefined) copies.add((copy = copyOf(value)));
      setOwn(copy, key, next);
      continue;
    }
    if (policy === 'remove' && !Array.isArray(value)) {
      // One key at a time: `*` over an object removes every key, each from the last copy.
      if (copy === undefined || keys.length === 1) {
        const base: Record<string, unknown> = (copy as Record<string, unknown> | undefined) ?? value;
        copies.add((copy = copyOf(base, key)));
      } else delete (copy as Record<string, unknown>)[key];
      continue;
    }
    if (copy === undefined) copies.add((copy = copyOf(value)));
    if (policy === 'remove') (copy as unknown[])[Number(key)] = null;
    else setOwn(copy, key, policy === 'mask' ? MASK : policy(current, pointer));
  }
  return copy ?? value;
}
