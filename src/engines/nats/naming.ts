/**
 * Names on the NATS side: event subjects, durable consumer names and dead-letter subjects.
 *
 * Event subjects are `<prefix>.<partition>.<type>`; the partition is the engine kit's
 * `partitionOf` (FNV-1a of `partitionkey ?? id`, modulo the stream's partition count), part of the
 * stored format: changing it (or the partition count) on a stream with data breaks per-key order.
 */

const SAFE_TOKEN = /^[A-Za-z0-9_-]+$/;
const TYPE_TOKENS = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

export { fnv1a32, partitionOf } from '../../bus/kit/index.ts';

/**
 * One subject token (or consumer name part) for an arbitrary string: `[A-Za-z0-9_-]` stay, every
 * other UTF-8 byte becomes `~xx` (hex), so `orders.saga` reads `orders~2esaga` and the mapping is
 * injective.
 */
export function encodeToken(value: string): string {
  if (SAFE_TOKEN.test(value)) return value;
  let out = '';
  for (const char of value) {
    if (/[A-Za-z0-9_-]/.test(char)) out += char;
    else for (const byte of Buffer.from(char, 'utf8')) out += `~${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

export function decodeToken(token: string): string {
  if (!token.includes('~')) return token;
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    if (token[i] === '~') {
      bytes.push(parseInt(token.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(token.charCodeAt(i));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Event types become subject tokens as they are (`order.placed` → two tokens). */
export function assertSubjectType(type: string): void {
  if (!TYPE_TOKENS.test(type)) {
    throw new Error(`event type "${type}" cannot be a NATS subject: use letters, digits, "_", "-" and "." between tokens`);
  }
}

/** The subjects of one engine: event stream and its companion dead-letter stream. */
export interface Naming {
  readonly stream: string;
  readonly dlqStream: string;
  /** Event subject prefix, e.g. `flamingo`. */
  readonly prefix: string;
  /** Dead-letter stream subject prefix, e.g. `flamingo_dlq`. */
  readonly dlqPrefix: string;
}

export function namingFor(stream: string, subjectPrefix?: string): Naming {
  const prefix = subjectPrefix ?? stream.toLowerCase();
  if (!TYPE_TOKENS.test(prefix)) throw new Error(`subjectPrefix "${prefix}" is not a valid NATS subject prefix`);
  if (!SAFE_TOKEN.test(stream)) throw new Error(`stream name "${stream}" may only hold letters, digits, "_" and "-"`);
  return { stream, dlqStream: `${stream}_DLQ`, prefix, dlqPrefix: `${prefix}_dlq` };
}

export function eventSubject(naming: Naming, partition: number, type: string): string {
  return `${naming.prefix}.${partition}.${type}`;
}

/** Every event subject of one partition (or of all partitions with `'*'`). */
export function partitionFilter(naming: Naming, partition: number | '*'): string {
  return `${naming.prefix}.${partition}.>`;
}

/**
 * The NATS subject filter of one type pattern within a partition: `order.placed` exactly,
 * `order.*` every `order.` type (any depth), `*` everything.
 */
export function typeFilter(naming: Naming, partition: number | '*', pattern: string): string {
  if (pattern === '*') return partitionFilter(naming, partition);
  if (pattern.endsWith('.*')) return `${naming.prefix}.${partition}.${pattern.slice(0, -2)}.>`;
  return `${naming.prefix}.${partition}.${pattern}`;
}

/** The event type carried by an event subject. */
export function typeOfSubject(naming: Naming, subject: string): string {
  const rest = subject.slice(naming.prefix.length + 1);
  return rest.slice(rest.indexOf('.') + 1);
}

// Durable consumers: `<sub>__p<n>` per partition (ordering key), `<sub>__all` (ordering none),
// `<sub>__redrive` on the dead-letter stream. Parsed from the right, so any name is unambiguous.
const CONSUMER_NAME = /^(.+)__(p\d+|all|redrive)$/;

export type ConsumerRole = { kind: 'partition'; partition: number } | { kind: 'all' } | { kind: 'redrive' };

export function consumerName(subscription: string, role: ConsumerRole): string {
  const suffix = role.kind === 'partition' ? `p${role.partition}` : role.kind;
  return `${encodeToken(subscription)}__${suffix}`;
}

export function parseConsumerName(name: string): { subscription: string; role: ConsumerRole } | undefined {
  const match = CONSUMER_NAME.exec(name);
  if (!match) return undefined;
  const [, encoded, suffix] = match;
  const role: ConsumerRole = suffix.startsWith('p') ? { kind: 'partition', partition: Number(suffix.slice(1)) } : { kind: suffix as 'all' | 'redrive' };
  return { subscription: decodeToken(encoded), role };
}

/** Dead-letter stream subjects: `dead` (dead letters), `failing` (retry state), `redrive` (retry queue). */
export type DlqArea = 'dead' | 'failing' | 'redrive';

export function dlqSubject(naming: Naming, area: DlqArea, subscription: string, eventId: string): string {
  return `${naming.dlqPrefix}.${area}.${encodeToken(subscription)}.${encodeToken(eventId)}`;
}

export function dlqFilter(naming: Naming, area: DlqArea, subscription: string): string {
  return `${naming.dlqPrefix}.${area}.${encodeToken(subscription)}.>`;
}
