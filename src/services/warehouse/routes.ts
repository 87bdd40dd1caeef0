/**
 * The warehouse's HTTP API: `POST /v1/warehouse/query` (an analyst key or the admin key),
 * `GET /v1/warehouse/export` (the same) and `POST /v1/warehouse/rebuild` (admin).
 */
import { createReadStream, rmSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { pack } from 'tar-stream';
import { ApiError, badRequest } from '../../platform/errors.ts';
import { exportParquet } from './export.ts';
import type { RebuildProgress } from './rebuild.ts';
import { QueryError, type QueryLimits, type WarehouseStore } from './store.ts';

export interface WarehouseRouteDeps {
  /**
   * The warehouse, or why this process cannot reach it (a DuckDB file another process holds): then
   * every route answers that error, after authentication.
   */
  readonly store: WarehouseStore | ApiError;
  readonly limits: QueryLimits;
  /** Whether a rebuild runs in this process now. */
  rebuilding(): boolean;
  /** Starts a rebuild (only when none runs); resolves once the new table is in place. */
  rebuild(onProgress: (progress: RebuildProgress) => void): Promise<RebuildProgress>;
}

const ErrorRef = Type.Ref('ErrorBody');

/** The store, or the error saying why it is out of reach. */
const reach = (store: WarehouseStore | ApiError): WarehouseStore => {
  if (store instanceof ApiError) throw store;
  return store;
};
const MAX_SQL = 100_000;

export function registerWarehouseRoutes(app: FastifyInstance, deps: WarehouseRouteDeps): void {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['warehouse'];

  typed.post(
    '/v1/warehouse/query',
    {
      config: { auth: 'analyst' as const },
      schema: {
        tags,
        summary: 'Run one read-only SQL statement on the warehouse',
        description:
          'The database enforces read-only (DuckDB: a read-only transaction, reading statements only, no file access; PostgreSQL: a login that may only read the warehouse schema, in a read-only transaction). ' +
          `Cancelled after FLAMINGO_WAREHOUSE_QUERY_TIMEOUT_MS (${deps.limits.timeoutMs} ms); at most FLAMINGO_WAREHOUSE_MAX_ROWS (${deps.limits.maxRows}) rows, \`truncated\` says there were more.`,
        body: Type.Object({ sql: Type.String({ minLength: 1, maxLength: MAX_SQL, description: 'One SQL statement, e.g. `SELECT * FROM daily_sales ORDER BY day`.' }) }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            columns: Type.Array(Type.Object({ name: Type.String(), type: Type.String() })),
            rows: Type.Array(Type.Record(Type.String(), Type.Unknown())),
            truncated: Type.Boolean({ description: 'More rows matched than were returned.' }),
          }),
          400: ErrorRef,
          401: ErrorRef,
          403: ErrorRef,
          503: ErrorRef,
        },
      },
    },
    async (request) => {
      const store = reach(deps.store);
      try {
        const result = await store.query(request.body.sql, deps.limits);
        return { columns: result.columns.map((c) => ({ ...c })), rows: [...result.rows], truncated: result.truncated };
      } catch (error) {
        if (error instanceof QueryError) throw badRequest(error.code, error.message, [{ path: '/body/sql', message: error.message }]);
        throw error;
      }
    },
  );

  typed.get(
    '/v1/warehouse/export',
    {
      config: { auth: 'analyst' as const },
      schema: {
        tags,
        summary: 'Every event as Parquet files, Hive-partitioned by type and date, in a tar archive',
        description: 'Paths inside the archive: `events/type=<type>/date=<YYYY-MM-DD>/data_<n>.parquet`. `flamingo warehouse export --out <dir>` unpacks it.',
        response: { 401: ErrorRef, 403: ErrorRef, 503: ErrorRef },
      },
    },
    async (request, reply) => {
      const result = await exportParquet(reach(deps.store));
      const archive = pack();
      const cleanup = () => rmSync(result.dir, { recursive: true, force: true });
      const body = new PassThrough();
      archive.pipe(body);
      body.on('close', cleanup);
      void (async () => {
        try {
          for (const file of result.files) {
            const full = path.join(result.dir, file);
            const { size } = await stat(full);
            const entry = archive.entry({ name: file, size, mode: 0o600 });
            await new Promise<void>((resolve, reject) => {
              createReadStream(full).on('error', reject).pipe(entry).on('finish', resolve).on('error', reject);
            });
          }
          archive.finalize();
        } catch (error) {
          request.log.error({ err: error }, 'warehouse export failed while streaming');
          archive.destroy(error as Error);
          cleanup();
        }
      })();
      request.log.info({ rows: result.rows, files: result.files.length }, 'warehouse exported');
      return reply.header('content-type', 'application/x-tar').header('x-flamingo-rows', String(result.rows)).send(body);
    },
  );

  typed.post(
    '/v1/warehouse/rebuild',
    {
      config: { auth: 'admin' as const },
      schema: {
        tags,
        summary: 'Drop the warehouse and land every event of the log again',
        description:
          'Answers at once and streams progress as JSON lines (`application/x-ndjson`): `{"done","total","rate","elapsedSeconds"}`, then `{"finished":true,…}` or `{"error":…}`. ' +
          'Queries keep answering from the old table until the new one replaces it; 409 while a rebuild runs. It goes on if the client leaves.',
        response: { 401: ErrorRef, 403: ErrorRef, 409: ErrorRef, 503: ErrorRef },
      },
    },
    async (request, reply) => {
      reach(deps.store);
      if (deps.rebuilding()) throw new ApiError(409, 'rebuild_running', 'a rebuild is already running; wait for it to finish');
      const body = new PassThrough();
      const write = (line: object) => {
        if (!body.writableEnded) body.write(JSON.stringify(line) + '\n');
      };
      deps.rebuild((progress) => write(progress)).then(
        (final) => {
          write({ finished: true, ...final });
          body.end();
        },
        (error: unknown) => {
          request.log.error({ err: error }, 'warehouse rebuild failed');
          write({ error: (error as Error).message });
          body.end();
        },
      );
      return reply.header('content-type', 'application/x-ndjson').send(body);
    },
  );
}
