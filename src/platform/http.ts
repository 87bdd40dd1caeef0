import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { Plugin } from 'ajv';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ajvFormatsPlugin } from '../contracts/index.ts';
import { DEFAULT_HTTP_SETTINGS, type HttpSettings } from './config.ts';
import { ApiError, badRequest, type ProblemDetail } from './errors.ts';
import { ErrorBody } from './http-schemas.ts';
import { clientErrorHandler, limitConnections, registerRateLimits, timeoutOptions } from './http-limits.ts';
import { parseJsonBody } from './json-body.ts';
import { traceIdOf, type Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import { traceRequests, type Tracing } from './tracing.ts';
import { badUrl, checkRequestHead } from './request-head.ts';
import { registerSse } from './sse.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Size in bytes of the request body as received (0 without a body). */
    bodyBytes: number;
    /** The request body as received, when it was read as JSON (null otherwise). */
    bodyBuffer: Buffer | null;
  }
  interface FastifyInstance {
    /** Every route registered so far (`HEAD` routes Fastify adds for `GET` left out), in registration order. */
    readonly routeList: readonly RouteEntry[];
  }
}

/** A registered route: its method, URL pattern (`/v1/orders/:id`) and who may call it (`config.auth`). */
export interface RouteEntry {
  readonly method: string;
  readonly url: string;
  readonly auth?: string;
}

export interface HttpServerOptions {
  readonly logger: Logger;
  /** Largest request body; bigger ones get 413 `payload_too_large`. (Default: 4 MiB) */
  readonly bodyLimit?: number;
  /** Timeouts, connection limit, JSON depth and per-client rate limits. (Default: `DEFAULT_HTTP_SETTINGS`) */
  readonly settings?: HttpSettings;
  /** When given, every request is timed into `flamingo_http_request_duration_seconds`. */
  readonly metrics?: Metrics;
  /**
   * When given, every request gets a SERVER span (child of its `traceparent` header), active in
   * its handler; the request's `traceparent` header is then the span's, so events published from
   * it carry it. (Default: none)
   */
  readonly tracing?: Tracing;
  /** Shown in the OpenAPI document. (Default: '0.0.0') */
  readonly version?: string;
  /**
   * Static files (the web pages' HTML, scripts and styles) served read-only under `prefix`
   * (`/web/`) from `root` with `@fastify/static`: public, no directory listing, nothing outside
   * `root`. Every file is sent with `PAGE_SECURITY_HEADERS`. (Default: none)
   */
  readonly staticFiles?: { readonly root: string; readonly prefix: string };
}

/**
 * Sent with every static file. The pages hold keys (the admin console keeps the admin key in
 * sessionStorage), so they run only their own scripts and styles from this origin (no inline
 * script, no other origin, no plugins), talk only to this origin, cannot be framed
 * (clickjacking) and send no Referer. Source: OWASP Secure Headers; CSP Level 3.
 */
export const PAGE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/** Media types read as JSON. A body without Content-Type is read as JSON too (the seed's producers send none). */
export const JSON_MEDIA_TYPES = ['application/json', 'application/cloudevents+json', 'application/cloudevents-batch+json'] as const;

function parseJson(request: FastifyRequest, body: Buffer, maxDepth: number): unknown {
  request.bodyBytes = body.length;
  request.bodyBuffer = body;
  return parseJsonBody(body, maxDepth);
}

/** One error of ajv (with `allErrors` and `verbose`, so `schema` is the failing keyword's value). */
interface AjvError {
  readonly keyword: string;
  readonly instancePath?: string;
  readonly schemaPath: string;
  readonly params?: { missingProperty?: string };
  readonly message?: string;
  readonly schema?: unknown;
}

/** A short reading of a (TypeBox) schema for a message: `"now"`, `integer`, `{"sequence": integer}`. */
function describeSchema(schema: unknown, depth = 0): string {
  if (typeof schema !== 'object' || schema === null) return 'any value';
  const s = schema as { const?: unknown; enum?: unknown[]; anyOf?: unknown[]; oneOf?: unknown[]; type?: unknown; format?: string; properties?: Record<string, unknown>; required?: string[] };
  if ('const' in s) return JSON.stringify(s.const);
  if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  const union = s.anyOf ?? s.oneOf;
  if (Array.isArray(union)) return union.map((branch) => describeSchema(branch, depth)).join(depth === 0 ? ', ' : ' | ');
  if (s.type === 'object' && s.properties && depth < 2) {
    const required = new Set(s.required ?? []);
    const fields = Object.entries(s.properties).map(([name, value]) => `${JSON.stringify(name)}${required.has(name) ? '' : '?'}: ${describeSchema(value, depth + 1)}`);
    return `{${fields.join(', ')}}`;
  }
  if (typeof s.type === 'string') return s.format ? `${s.type} (${s.format})` : s.type;
  return 'a value of its schema';
}

/**
 * Fastify's schema validation errors (ajv with `allErrors`: every bad field, not only the first) as
 * our `{path, message}` details. A union (`anyOf`/`oneOf`) that no branch matches is ONE detail at
 * its path naming the alternatives — not one error per branch, which reads as contradictions
 * ("must have sequence", "must have time", …) — and what failed inside its branches is left out.
 */
function validationDetail(error: FastifyError): ProblemDetail[] {
  const where = error.validationContext === 'querystring' ? '/query' : error.validationContext ? `/${error.validationContext}` : '';
  const errors = (error.validation ?? []) as unknown as AjvError[];
  const unions = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf').map((e) => `${e.schemaPath}/`);
  const inside = (e: AjvError) => unions.some((prefix) => e.schemaPath.startsWith(prefix));
  const detail: ProblemDetail[] = [];
  for (const e of errors) {
    if (inside(e)) continue;
    const missing = e.params?.missingProperty;
    const path = `${where}${e.instancePath ?? ''}${missing ? `/${missing}` : ''}` || '/';
    const message = e.keyword === 'anyOf' || e.keyword === 'oneOf' ? `must be one of: ${describeSchema({ anyOf: e.schema })}` : (e.message ?? 'is invalid');
    if (!detail.some((d) => d.path === path && d.message === message)) detail.push({ path, message });
  }
  // A body of thousands of bad elements would otherwise answer megabytes.
  return detail.length > 100 ? [...detail.slice(0, 100), { path: '/', message: `and ${detail.length - 100} more problems` }] : detail;
}

/**
 * The HTTP server every route is registered on: JSON logs (pino), the error shape of
 * CONVENTIONS.md, JSON and CloudEvents content types, request metrics and the OpenAPI document
 * (`/docs`, JSON at `/docs/json`). Register routes with `app.withTypeProvider<TypeBoxTypeProvider>()`
 * and TypeBox schemas so they appear in OpenAPI.
 *
 * Every route gets the same defences against hostile input (README "Security"): a body limit;
 * bodies read as strict UTF-8 JSON of bounded depth without NUL characters or prototype field
 * names (`parseJsonBody`); URLs and headers checked for the same (`checkRequestHead`); timeouts,
 * a connection limit and opt-in per-client rate limits (`http-limits.ts`).
 */
export async function createHttpServer(options: HttpServerOptions): Promise<FastifyInstance> {
  const bodyLimit = options.bodyLimit ?? 4 * 1024 * 1024;
  const settings = options.settings ?? DEFAULT_HTTP_SETTINGS;
  const maxDepth = settings.maxDepth;
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit,
    ...timeoutOptions(settings),
    // Routes check `format`s with the same ajv-formats mode as the catalog (contracts/formats.ts).
    // allErrors: a 4xx names every bad field, not only the first (unions: see validationDetail);
    // verbose: errors carry the schema they failed, to name a union's alternatives. removeAdditional
    // off: a field a strict schema (`additionalProperties: false`) does not know is refused, not
    // silently dropped — and with allErrors, dropping it while trying one branch of a union would
    // hide it from the next branch (`{"position":"now"}` failing the rewind body).
    ajv: { customOptions: { allErrors: true, verbose: true, removeAdditional: false }, plugins: [[...ajvFormatsPlugin] as [Plugin<unknown>, unknown]] },
    clientErrorHandler,
    // A URL Fastify's router cannot decode (`%FF`, `%zz`): our error shape instead of Fastify's.
    frameworkErrors: (error, request, reply) => {
      const refusal = error.code === 'FST_ERR_BAD_URL' ? badUrl(request.raw.url ?? '') : new ApiError(400, 'bad_request', error.message);
      void (reply as FastifyReply).status(refusal.status).send(refusal.toBody());
    },
    // Requests are logged by our onResponse hook at debug level, with the route and duration.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  }) as unknown as FastifyInstance;
  limitConnections(app, settings);

  const routeList: RouteEntry[] = [];
  app.decorate('routeList', routeList);
  app.addHook('onRoute', (route) => {
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) {
      if (method !== 'HEAD') routeList.push({ method, url: route.url, auth: (route.config as { auth?: string } | undefined)?.auth });
    }
  });
  await registerRateLimits(app, settings);

  app.decorateRequest('bodyBytes', 0);
  app.decorateRequest('bodyBuffer', null);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser([...JSON_MEDIA_TYPES], { parseAs: 'buffer' }, (request, body, done) => {
    try {
      done(null, parseJson(request, body as Buffer, maxDepth));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    const type = request.headers['content-type'];
    if (type !== undefined && type !== '') {
      done(new ApiError(415, 'unsupported_media_type', `Content-Type ${type} is not supported; send ${JSON_MEDIA_TYPES.join(', ')}`), undefined);
      return;
    }
    try {
      done(null, parseJson(request, body as Buffer, maxDepth));
    } catch (error) {
      done(error as Error, undefined);
    }
  });

  if (options.tracing) traceRequests(app, options.tracing);
  // Callback hooks, not async ones: every request runs them, and a promise each costs time.
  // With tracing on, the logger's mixin adds the request span's ids from preHandler on.
  if (!options.tracing) {
    app.addHook('onRequest', (request, _reply, done) => {
      const traceId = traceIdOf(request.headers.traceparent as string | undefined);
      if (traceId) request.log = request.log.child({ trace_id: traceId });
      done();
    });
  }
  // The URL and headers of every request, after the routes' own onRequest hooks (authentication
  // comes first) and before the body is read; the body's rules are in the JSON parser above.
  app.addHook('preParsing', (request, _reply, payload, done) => {
    try {
      checkRequestHead(request);
    } catch (error) {
      done(error as Error);
      return;
    }
    done(null, payload);
  });
  // A query parameter the route does not declare is refused, not ignored: `?after=500` for
  // `?afterSequence=500` would otherwise silently answer the first page. Fastify's ajv strips
  // undeclared properties (removeAdditional), so this is checked before validation.
  app.addHook('preValidation', (request, _reply, done) => {
    const declared = (request.routeOptions.schema?.querystring as { properties?: Record<string, unknown> } | undefined)?.properties;
    if (declared !== undefined && request.query !== null && typeof request.query === 'object') {
      const unknown = Object.keys(request.query).filter((name) => !Object.hasOwn(declared, name));
      if (unknown.length > 0) {
        const known = Object.keys(declared).join(', ') || 'none';
        done(
          badRequest(
            'invalid_request',
            `unknown query parameter${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; this route takes ${known}`,
            unknown.map((name) => ({ path: `/query/${name}`, message: `is not a parameter of this route (it takes ${known})` })),
          ),
        );
        return;
      }
    }
    done();
  });
  if (options.metrics) {
    const { httpDuration } = options.metrics;
    app.addHook('onResponse', (request, reply, done) => {
      httpDuration.observe(
        { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
      done();
    });
  }
  // One log record per request (level info): method, route template, status and duration; the URL
  // without its query string, which may carry personal data. LOG_LEVEL=warn turns them off.
  app.addHook('onResponse', (request, reply, done) => {
    request.log.info(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', url: request.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 },
      'request',
    );
    done();
  });

  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` });
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ApiError) {
      if (error.headers) reply.headers(error.headers);
      return reply.status(error.status).send(error.toBody());
    }
    if (error.validation) {
      return reply.status(400).send({ error: 'invalid_request', message: 'the request does not match its schema', detail: validationDetail(error) });
    }
    switch (error.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return reply.status(413).send({ error: 'payload_too_large', message: `the body is larger than ${bodyLimit} bytes` });
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return reply.status(415).send({ error: 'unsupported_media_type', message: `send one of ${JSON_MEDIA_TYPES.join(', ')}` });
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return reply.status(400).send({ error: 'malformed_json', message: 'the body is empty; expected JSON' });
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return reply.status(status).send({ error: (error.code ?? 'bad_request').toLowerCase(), message: error.message });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.status(status >= 500 ? status : 500).send({ error: 'internal', message: 'internal error; see the server log' });
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Flamingo',
        description: 'A typed event backbone for commerce: collector, admin and service APIs.',
        version: options.version ?? '0.0.0',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'An API key: the admin key or a producer key.' },
          customerToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A customer session token (`POST /v1/auth/login`).' },
        },
      },
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  // Before the guard: these routes are public by nature (pages call the API with credentials).
  if (options.staticFiles) {
    await app.register(fastifyStatic, {
      root: options.staticFiles.root,
      prefix: options.staticFiles.prefix,
      index: ['index.html'],
      list: false,
      dotfiles: 'deny',
      setHeaders: (reply) => {
        reply.headers(PAGE_SECURITY_HEADERS);
      },
    });
  }
  // Browser sessions (an HttpOnly cookie, platform/auth/session.ts) and live updates (SSE).
  await app.register(fastifyCookie);
  await registerSse(app);
  // Every route's error answers refer to this one schema (`errors(…)`, `ErrorAnswer`).
  app.addSchema(ErrorBody);
  return app;
}
