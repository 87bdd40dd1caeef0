/**
 * The servers of the HTTP section, each run as a child process (`tsx bench/http-server.ts <mode>`):
 *
 * - `flamingo`: the real server (`startFlamingo`) on loopback with a temp data dir
 *   (`FLAMINGO_DATA_DIR`) and no services, so what is measured is the collector and the bus;
 * - `shop`: the same with every service, for the orders section;
 * - `system`: every service and the audit projection, on `BENCH_DATABASE_URL` when set, for the
 *   system section;
 * - `bare`: the ceiling, a bare Fastify route that parses the same bodies, validates them against
 *   the same envelope and `order.placed` data schema (ajv, compiled by Fastify) and answers 202
 *   with the same shape, storing nothing.
 *
 * Tells its parent `{ port }` over IPC once listening; answers the message `cpu` with
 * `{ cpuUs }` (CPU time used so far, every thread); closes and exits on the message `stop`.
 */
import { createServer } from 'node:net';
import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { findDefinition } from '../src/contracts/index.ts';

interface Running {
  readonly port: number;
  close(): Promise<unknown>;
}

const JSON_TYPES = ['application/json', 'application/cloudevents+json', 'application/cloudevents-batch+json'];

const str = () => Type.Optional(Type.String());

/** The envelope a producer sends, with `data` checked as `order.placed`. */
function eventSchema() {
  const definition = findDefinition('order.placed');
  if (!definition) throw new Error('order.placed is not in the catalog');
  return Type.Object(
    {
      specversion: Type.Literal('1.0'),
      id: str(),
      source: str(),
      type: Type.String(),
      subject: str(),
      time: Type.Optional(Type.String({ format: 'date-time' })),
      datacontenttype: Type.Optional(Type.Literal('application/json')),
      dataschema: str(),
      data: definition.schema,
      partitionkey: str(),
      traceparent: str(),
      tracestate: str(),
      correlationid: str(),
      causationid: str(),
    },
    { additionalProperties: false },
  );
}

async function startBare(): Promise<Running> {
  const app: FastifyInstance = Fastify({ logger: false, bodyLimit: 4 * 1024 * 1024 });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JSON_TYPES, { parseAs: 'buffer' }, (_request, body, done) => {
    try {
      done(null, JSON.parse((body as Buffer).toString('utf8')));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  const event = eventSchema();
  let sequence = 0;
  app.post('/v1/events', { schema: { body: Type.Union([event, Type.Array(event, { minItems: 1, maxItems: 1000 })]) } }, async (request, reply) => {
    const body = request.body as { id?: string } | { id?: string }[];
    if (Array.isArray(body)) {
      return reply.status(202).send({ events: body.map((e) => ({ id: e.id ?? '', sequence: ++sequence, duplicate: false })) });
    }
    return reply.status(202).send({ id: body.id ?? '', sequence: ++sequence, duplicate: false });
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  return { port: typeof address === 'object' && address ? address.port : 0, close: () => app.close() };
}

/** A port free on loopback right now (the configuration refuses port 0). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function startReal(mode: 'flamingo' | 'shop' | 'system'): Promise<Running> {
  // Loaded here, not at the top, so that the `bare` ceiling process holds nothing of the app.
  const [{ startFlamingo }, { loadConfig }] = await Promise.all([import('../src/app/flamingo.ts'), import('../src/platform/config.ts')]);
  const dir = process.env.BENCH_DATA_DIR;
  if (!dir) throw new Error('BENCH_DATA_DIR is not set');
  const config = loadConfig(
    {
      PORT: String(await freePort()),
      HOST: '127.0.0.1',
      FLAMINGO_DATA_DIR: dir,
      FLAMINGO_ADMIN_KEY: process.env.BENCH_ADMIN_KEY,
      // The run's engine (`--engine nats|redis` sets these to a stream or prefix of its own, deleted at the end).
      FLAMINGO_ENGINE: process.env.BENCH_ENGINE ?? 'sqlite',
      FLAMINGO_NATS_STREAM: process.env.BENCH_NATS_STREAM,
      FLAMINGO_REDIS_PREFIX: process.env.BENCH_REDIS_PREFIX,
      LOG_LEVEL: 'warn',
      ...(mode === 'system' ? { FLAMINGO_AUDIT_PROJECTION: '1', DATABASE_URL: process.env.BENCH_DATABASE_URL } : {}),
    },
    dir,
  );
  return await startFlamingo(config, mode === 'flamingo' ? { registry: [] } : {});
}

const mode = process.argv[2];
const started =
  mode === 'bare' ? startBare() : mode === 'flamingo' || mode === 'shop' || mode === 'system' ? startReal(mode) : Promise.reject(new Error(`unknown mode ${mode}`));
started.then(
  (running) => {
    process.send!({ port: running.port });
    process.on('message', (message) => {
      if (message === 'stop') running.close().finally(() => process.exit(0));
      if (message === 'cpu') {
        const used = process.cpuUsage();
        process.send!({ cpuUs: used.user + used.system });
      }
    });
    process.on('disconnect', () => process.exit(0));
  },
  (error: unknown) => {
    process.send!({ error: (error as Error).stack ?? String(error) }, () => process.exit(1));
  },
);
