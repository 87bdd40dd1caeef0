/**
 * One HTTP request to a target with undici: the event as a CloudEvent (structured or binary mode,
 * CloudEvents HTTP binding), Standard Webhooks signature headers, the event's trace context, the
 * target's extra headers; a reply later than the timeout is a failure. Never throws: the reply
 * (status, headers, the first bytes of the body) or the error.
 */
import { request, type Dispatcher } from 'undici';
import type { CloudEvent } from '../../contracts/index.ts';
import { redactEvent } from '../../contracts/index.ts';
import { BODY_KEPT_BYTES } from './attempts.ts';
import type { ResponseHeaders } from './rate-signals.ts';
import { signatureHeaders } from './signing.ts';
import type { Target } from './targets.ts';

export type SendResult =
  | { readonly kind: 'reply'; readonly status: number; readonly headers: ResponseHeaders; readonly body: string; readonly bodyKept: string }
  | { readonly kind: 'error'; readonly error: string; readonly timeout: boolean };

/** Bytes of a reply read to find a GraphQL THROTTLED error; the rest is discarded. */
const BODY_READ_BYTES = 64 * 1024;

/** Attribute headers of binary mode: every envelope attribute but `data` and `datacontenttype`, as `ce-<name>`. */
function binaryHeaders(event: CloudEvent): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event)) {
    if (name === 'data' || name === 'datacontenttype' || value === undefined) continue;
    // CloudEvents HTTP binding §3.1.3.2: percent-encode what is not printable ASCII, '"' and '%'.
    headers[`ce-${name}`] = String(value).replace(/[^\x21\x23-\x24\x26-\x7e ]/gu, (c) => encodeURIComponent(c));
  }
  return headers;
}

/** The request's body and headers for `event` (the catalog's secrets masked: the event leaves the bus). */
export function buildRequest(target: Target, event: CloudEvent, now: Date): { body: string; headers: Record<string, string> } {
  const outgoing = redactEvent(event);
  const body = target.contentMode === 'binary' ? JSON.stringify(outgoing.data) : JSON.stringify(outgoing);
  const headers: Record<string, string> = {
    ...target.headers,
    'content-type': target.contentMode === 'binary' ? 'application/json' : 'application/cloudevents+json; charset=utf-8',
    'user-agent': 'Flamingo-Delivery',
    ...(target.contentMode === 'binary' ? binaryHeaders(outgoing) : {}),
    ...(event.traceparent ? { traceparent: event.traceparent } : {}),
    ...(event.tracestate ? { tracestate: event.tracestate } : {}),
    ...signatureHeaders(target.secrets, event.id, body, now),
  };
  return { body, headers };
}

/**
 * Cuts `buffer` to at most `bytes`, on a UTF-8 character boundary, as text a database takes: a
 * target's reply is hostile bytes (invalid UTF-8 becomes U+FFFD; NUL, which PostgreSQL text
 * refuses, too).
 */
function cut(buffer: Buffer, bytes: number): string {
  let end = Math.min(bytes, buffer.length);
  if (end < buffer.length) while (end > 0 && (buffer[end]! & 0xc0) === 0x80) end -= 1;
  return buffer.subarray(0, end).toString('utf8').replaceAll('\u0000', '\ufffd');
}

export async function send(dispatcher: Dispatcher, target: Target, body: string, headers: Record<string, string>): Promise<SendResult> {
  const signal = AbortSignal.timeout(target.timeoutMs);
  try {
    const reply = await request(target.url, { method: 'POST', headers, body, signal, dispatcher });
    const chunks: Buffer[] = [];
    let length = 0;
    for await (const chunk of reply.body as AsyncIterable<Buffer>) {
      if (length < BODY_READ_BYTES) chunks.push(chunk);
      length += chunk.length;
    }
    const all = Buffer.concat(chunks);
    return { kind: 'reply', status: reply.statusCode, headers: reply.headers, body: cut(all, BODY_READ_BYTES), bodyKept: cut(all, BODY_KEPT_BYTES) };
  } catch (error) {
    const timeout = signal.aborted;
    const err = error as Error & { code?: string };
    const message = timeout ? `no reply within ${target.timeoutMs} ms` : `${err.code ? `${err.code}: ` : ''}${err.message}`;
    return { kind: 'error', error: message, timeout };
  }
}

/** Response headers as stored in the attempt log (one string each). */
export function flatHeaders(headers: ResponseHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  return flat;
}
