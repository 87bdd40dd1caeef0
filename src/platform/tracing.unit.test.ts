import { expect, it } from 'vitest';
import { ConfigError } from './config.ts';
import { createTracing, tracesEndpoint } from './tracing.ts';

it('is off unless an OTLP endpoint is set', () => {
  expect(createTracing({}, '1.0.0')).toBeUndefined();
  expect(createTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }, '1.0.0')).toBeUndefined();
});

it('sends to <endpoint>/v1/traces, or to the traces endpoint as given', () => {
  expect(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toBe('http://collector:4318/v1/traces');
  expect(tracesEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:4318/traces' })).toBe('http://b:4318/traces');
});

it('refuses an endpoint that is not an http(s) URL, naming the setting', () => {
  expect(() => createTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, '1.0.0')).toThrow(ConfigError);
  expect(() => createTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, '1.0.0')).toThrow(/^OTEL_EXPORTER_OTLP_ENDPOINT: must be an http\(s\) URL/);
  expect(() => createTracing({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'ftp://x/' }, '1.0.0')).toThrow(/^OTEL_EXPORTER_OTLP_TRACES_ENDPOINT/);
});
