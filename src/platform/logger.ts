import { trace } from '@opentelemetry/api';
import { pino, type Logger } from 'pino';
import { redactEvent } from '../contracts/index.ts';
import type { LogLevel } from './config.ts';
import { currentLogFields } from './log-context.ts';

export type { Logger } from 'pino';

/** An event logged under `event` (or a list under `events`) leaves through the log: its secrets and personal data masked. */
function redactLogged(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactLogged);
  if (typeof value !== 'object' || value === null) return value;
  const event = value as { type?: unknown; data?: unknown };
  return typeof event.type === 'string' && 'data' in event ? redactEvent(event as { type: string; data: unknown }, { personalData: 'mask' }) : value;
}

/**
 * What every line gets from where it is written: `trace_id` and `span_id` of the active span
 * (when tracing is on), and the event being handled (`event_id`, `event_type`, `subscription`).
 */
function logMixin(): object {
  const fields = currentLogFields();
  const span = trace.getActiveSpan()?.spanContext();
  if (!span) return fields ?? {};
  return { ...fields, trace_id: span.traceId, span_id: span.spanId };
}

/**
 * The logger's options: JSON with ISO timestamps, and the catalog's secrets and personal data masked in an event
 * logged as `event` or `events` (contracts/redaction.ts). Exported so a test can log to a stream.
 */
export function loggerOptions(level: LogLevel = 'info'): pino.LoggerOptions {
  return {
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    serializers: { event: redactLogged, events: redactLogged },
    mixin: logMixin,
  };
}

/** A JSON logger (pino) with ISO timestamps; children add `trace_id`, event `id` and `type` where they apply. */
export function createLogger(level: LogLevel = 'info'): Logger {
  return pino(loggerOptions(level));
}

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The trace id of a W3C `traceparent`, or undefined when absent or malformed. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  if (!traceparent) return undefined;
  const match = TRACEPARENT.exec(traceparent.trim());
  return match ? match[1] : undefined;
}
