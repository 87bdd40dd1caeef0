/**
 * Log lines join traces and events (issue 12): what a handler logs carries `trace_id` and
 * `span_id` of its CONSUMER span (tracing on) and the event's `event_id`, `event_type` and
 * `subscription`; a catalog secret in a logged event stays masked. Real SQLite engine, spans
 * sent to a loopback OTLP receiver.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { busTracing, handlerLogFields } from '../src/app/bus-tracing.ts';
import { createBus, type Bus } from '../src/bus/index.ts';
import { sqliteEngine } from '../src/engines/sqlite/index.ts';
import { loggerOptions } from '../src/platform/logger.ts';
import { createTracing, type Tracing } from '../src/platform/tracing.ts';
import { startOtlpReceiver, type OtlpReceiver } from './support/otlp.ts';

let dir: string;
let bus: Bus;
let tracing: Tracing;
let receiver: OtlpReceiver;
const lines: Record<string, unknown>[] = [];
const logger = pino(
  loggerOptions('info'),
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  }),
);

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'flamingo-logs-'));
  receiver = await startOtlpReceiver();
  tracing = createTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint }, 'test')!;
  bus = createBus({ engine: sqliteEngine({ file: path.join(dir, 'bus.db') }), middleware: [busTracing(tracing), handlerLogFields()] });
});
afterEach(async () => {
  await bus.close();
  await tracing.shutdown();
  receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

it("a handler's log lines carry the trace, the span and the event; secrets stay masked", async () => {
  await bus.subscribe({ name: 'welcome-mail', types: ['user.registered'] }, async (event) => {
    logger.info({ event }, 'sending the welcome mail');
  });
  const { id } = await bus.publish({ type: 'user.registered', data: { userId: 'u-1', email: 'ada@example.com', name: 'Ada' } });
  const deadline = Date.now() + 10_000;
  while (!lines.some((l) => l.msg === 'sending the welcome mail') && Date.now() < deadline) await sleep(20);
  const line = lines.find((l) => l.msg === 'sending the welcome mail')!;
  expect(line).toMatchObject({ event_id: id, event_type: 'user.registered', subscription: 'welcome-mail' });
  expect(line.trace_id).toMatch(/^[0-9a-f]{32}$/);
  expect(line.span_id).toMatch(/^[0-9a-f]{16}$/);
  // The span is the handler's CONSUMER span, child of the event's PRODUCER span.
  const [stored] = await bus.read({ types: ['user.registered'], limit: 1 });
  expect(stored.traceparent).toContain(line.trace_id as string);
  await tracing.flush();
  const consumer = receiver.spans.find((s) => s.spanId === line.span_id);
  expect(consumer?.name).toBe('process user.registered');
  // Personal data of the catalog (the e-mail address) never reaches the log.
  expect(JSON.stringify(line)).not.toContain('ada@example.com');
  // Outside a handler, no event fields.
  logger.info('idle');
  expect(lines.at(-1)).not.toHaveProperty('event_id');
});
