import type { IncomingHttpHeaders } from 'node:http';

/**
 * The CloudEvent of a binary-mode request (CloudEvents HTTP binding): attributes in `ce-*` headers,
 * the body as `data`. The W3C `traceparent`/`tracestate` headers count as the tracing extension.
 * The result is checked like a structured event.
 */
export function binaryEvent(headers: IncomingHttpHeaders, body: unknown): Record<string, unknown> {
  const event: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(headers)) {
    if (!name.startsWith('ce-') || raw === undefined) continue;
    const value = Array.isArray(raw) ? raw.join(',') : raw;
    event[name.slice(3)] = decode(value);
  }
  for (const name of ['traceparent', 'tracestate'] as const) {
    const value = headers[name];
    if (event[name] === undefined && typeof value === 'string') event[name] = value;
  }
  event.data = body;
  return event;
}

/** Header values are percent-encoded where they are not printable ASCII (CloudEvents HTTP binding 3.1.3.2). */
function decode(value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** True when the request carries a binary-mode CloudEvent. */
export const isBinaryMode = (headers: IncomingHttpHeaders): boolean => headers['ce-specversion'] !== undefined;
