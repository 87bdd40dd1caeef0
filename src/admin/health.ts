import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Bus } from '../bus/index.ts';
import { plainJson } from '../platform/http-schemas.ts';

/** `/healthz` (the process is up) and `/readyz` (the engine answers within 2 s). */
export function healthRoutes(app: FastifyInstance, bus: Bus): void {
  app.get(
    '/healthz',
    { config: { auth: 'public' }, serializerCompiler: plainJson, schema: { tags: ['health'], summary: 'The process is up', response: { 200: Type.Object({ status: Type.Literal('ok') }) } } },
    async () => ({ status: 'ok' as const }),
  );
  app.get(
    '/readyz',
    {
      config: { auth: 'public' },
      serializerCompiler: plainJson,
      schema: {
        tags: ['health'],
        summary: 'The engine is reachable',
        response: { 200: Type.Object({ status: Type.Literal('ready'), engine: Type.String(), head: Type.Integer() }), 503: Type.Ref('ErrorBody') },
      },
    },
    async (request, reply) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        const head = await Promise.race([
          bus.engine.head(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error('no answer within 2 s')), 2000);
          }),
        ]);
        return { status: 'ready' as const, engine: bus.engine.name, head };
      } catch (error) {
        request.log.warn({ err: error }, 'engine not ready');
        return reply.status(503).send({ error: 'not_ready', message: `engine ${bus.engine.name} is not reachable: ${(error as Error).message}` });
      } finally {
        clearTimeout(timer);
      }
    },
  );
}
