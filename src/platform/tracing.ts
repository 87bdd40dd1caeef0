/**
 * OpenTelemetry tracing, on only when the standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set: spans go over OTLP/HTTP (JSON) in batches.
 * Unset, `createTracing` returns `undefined` and nothing in the request or bus paths changes.
 * The SDK is the Node-20 line (sdk-trace-base 2.12, exporter 0.223, api 1.9); the provider is
 * this process's own (not the global one), so several servers in one process keep apart.
 */
import { context, propagation, ROOT_CONTEXT, SpanKind, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ConfigError } from './config.ts';

/** The W3C trace context as carried in an event's `traceparent`/`tracestate` and in HTTP headers. */
export interface TraceHeaders {
  traceparent?: string;
  tracestate?: string;
}

export interface Tracing {
  readonly tracer: Tracer;
  /** The context a carrier (`traceparent`/`tracestate`) names, under `base` (Default: the root). */
  extract(carrier: TraceHeaders, base?: Context): Context;
  /** The `traceparent`/`tracestate` of the span active in `ctx` (Default: the active context); `{}` when none. */
  inject(ctx?: Context): TraceHeaders;
  /** Sends the spans not yet sent. */
  flush(): Promise<void>;
  /** Sends what is left, then stops. */
  shutdown(): Promise<void>;
}

const propagator = new W3CTraceContextPropagator();
const getter = {
  keys: (carrier: TraceHeaders) => Object.keys(carrier),
  get: (carrier: TraceHeaders, key: string) => carrier[key as keyof TraceHeaders],
};
const setter = {
  set: (carrier: TraceHeaders, key: string, value: string) => {
    if (key === 'traceparent' || key === 'tracestate') carrier[key] = value;
  },
};

let contextManagerSet = false;
/**
 * The AsyncLocalStorage context manager, process-wide (the OpenTelemetry context API has one);
 * set once, the first time tracing is on.
 */
function ensureContextManager(): void {
  if (contextManagerSet) return;
  contextManagerSet = context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(propagator);
}

/** Where spans go: the traces endpoint as given, or `<OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces` (the OTLP spec's rule). */
export function tracesEndpoint(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!base) return undefined;
  return `${base.replace(/\/+$/, '')}/v1/traces`;
}

/**
 * Tracing for this process when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `…_TRACES_ENDPOINT`) is set in
 * `env`, else `undefined`. `OTEL_SERVICE_NAME` names the service (Default: `flamingo`).
 * @throws ConfigError naming the setting when the endpoint is not an http(s) URL (start-up stops, exit code 2).
 */
export function createTracing(env: Readonly<Record<string, string | undefined>>, version: string): Tracing | undefined {
  const url = tracesEndpoint(env);
  if (!url) return undefined;
  if (!/^https?:\/\/[^/]/.test(url)) {
    const setting = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT';
    throw new ConfigError([`${setting}: must be an http(s) URL`]);
  }
  ensureContextManager();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: env.OTEL_SERVICE_NAME?.trim() || 'flamingo', [ATTR_SERVICE_VERSION]: version }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }), { scheduledDelayMillis: 500 })],
  });
  const tracer = provider.getTracer('flamingo', version);
  return {
    tracer,
    extract: (carrier, base = ROOT_CONTEXT) => propagator.extract(base, carrier, getter),
    inject(ctx = context.active()) {
      const carrier: TraceHeaders = {};
      propagator.inject(ctx, carrier, setter);
      return carrier;
    },
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

/** Runs `work` with `span` active, ending it with the outcome (an error is recorded and rethrown). */
export async function inSpan<T>(span: Span, ctx: Context, work: () => Promise<T>): Promise<T> {
  try {
    return await context.with(trace.setSpan(ctx, span), work);
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: 2, message: (error as Error).message });
    throw error;
  } finally {
    span.end();
  }
}

/**
 * A SERVER span per HTTP request: started in `onRequest` (child of the request's `traceparent`),
 * made the active context in `preHandler` (after the body is read: stream callbacks run outside
 * any context set earlier), ended in `onResponse`. The request's `traceparent`/`tracestate`
 * headers are replaced by the span's, so what the handler publishes is its child.
 */
export function traceRequests(app: FastifyInstance, tracing: Tracing): void {
  const active = new WeakMap<FastifyRequest, { span: Span; ctx: Context }>();
  app.addHook('onRequest', (request, _reply, done) => {
    const parent = tracing.extract({ traceparent: request.headers.traceparent as string | undefined, tracestate: request.headers.tracestate as string | undefined });
    const route = request.routeOptions.url;
    const span = tracing.tracer.startSpan(
      route ? `${request.method} ${route}` : request.method,
      { kind: SpanKind.SERVER, attributes: { [ATTR_HTTP_REQUEST_METHOD]: request.method, [ATTR_URL_PATH]: request.url.split('?')[0], ...(route ? { [ATTR_HTTP_ROUTE]: route } : {}) } },
      parent,
    );
    const ctx = trace.setSpan(parent, span);
    const headers = tracing.inject(ctx);
    request.headers.traceparent = headers.traceparent;
    if (headers.tracestate) request.headers.tracestate = headers.tracestate;
    else delete request.headers.tracestate;
    active.set(request, { span, ctx });
    done();
  });
  app.addHook('preHandler', (request, _reply, done) => {
    const entry = active.get(request);
    if (entry) context.with(entry.ctx, done);
    else done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const entry = active.get(request);
    if (entry) {
      entry.span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, reply.statusCode);
      if (reply.statusCode >= 500) entry.span.setStatus({ code: 2 });
      entry.span.end();
      active.delete(request);
    }
    done();
  });
}
