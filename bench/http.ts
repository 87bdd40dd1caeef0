/**
 * Section 4: HTTP ingest on loopback. The real server (collector, bus, engine; no services) and
 * the bare Fastify ceiling each run in a child process, and autocannon in another, so none of the
 * three shares an event loop. Batched: `application/cloudevents-batch+json` bodies of
 * `batchSize` events, in events/s; one per request: structured CloudEvents, in requests/s.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { forkChild } from './children.ts';
import type { LoadRequest, LoadResult } from './http-load.ts';
import type { Figure } from './report.ts';

export interface HttpSectionOptions {
  readonly dir: string;
  readonly engine: 'sqlite' | 'nats';
  readonly durationS: number;
  readonly warmupS: number;
  readonly batchSize: number;
  readonly singleConnections: number;
  readonly batchConnections: number;
}

const ADMIN_KEY = 'bench-admin-key-0123456789abcdef';

interface Measured {
  readonly rate: number;
  readonly result: LoadResult;
}

async function load(request: LoadRequest): Promise<LoadResult> {
  const child = forkChild<{ result: LoadResult }>('http-load.ts');
  try {
    child.process.send(request);
    return (await child.first).result;
  } finally {
    await child.stop(2_000);
  }
}

/** Runs both modes against one server: warm-up, then the measured run. */
async function measureServer(
  url: string,
  headers: Record<string, string>,
  options: HttpSectionOptions,
): Promise<{ batch: Measured; single: Measured }> {
  const run = async (mode: 'single' | 'batch'): Promise<Measured> => {
    const connections = mode === 'single' ? options.singleConnections : options.batchConnections;
    const base = { url: `${url}/v1/events`, mode, batchSize: options.batchSize, connections, headers };
    await load({ ...base, durationS: options.warmupS });
    const result = await load({ ...base, durationS: options.durationS });
    const perRequest = mode === 'single' ? 1 : options.batchSize;
    return { rate: (result.ok2xx * perRequest) / result.durationS, result };
  };
  return { batch: await run('batch'), single: await run('single') };
}

async function measureChild(mode: 'bare' | 'flamingo', options: HttpSectionOptions) {
  const dataDir = path.join(options.dir, `http-${mode}`);
  mkdirSync(dataDir, { recursive: true });
  const server = forkChild<{ port: number }>('http-server.ts', [mode], { BENCH_DATA_DIR: dataDir, BENCH_ADMIN_KEY: ADMIN_KEY, BENCH_ENGINE: options.engine });
  try {
    const { port } = await server.first;
    return await measureServer(`http://127.0.0.1:${port}`, mode === 'flamingo' ? { authorization: `Bearer ${ADMIN_KEY}` } : {}, options);
  } finally {
    await server.stop();
  }
}

function describe(measured: Measured, connections: number): string | undefined {
  const { result } = measured;
  const bad = result.non2xx + result.errors + result.timeouts;
  const statuses = Object.entries(result.statuses)
    .map(([code, count]) => `${code}×${count}`)
    .join(' ');
  const base = `${connections} connections, p50 ${result.latencyP50Ms} ms, p99 ${result.latencyP99Ms} ms`;
  return bad > 0 ? `${base}; ${bad} failed (${statuses}; ${result.errors} errors, ${result.timeouts} timeouts)` : base;
}

export async function httpSection(options: HttpSectionOptions): Promise<Figure[]> {
  const batchName = `batched, ${options.batchSize} events/request`;
  const singleName = 'one event per request (structured)';
  const batchGoals = [{ kind: 'atLeast', value: 50_000 }] as const;
  const singleGoals = [
    { kind: 'atLeast', value: 15_000 },
    { kind: 'ratioAtLeast', value: 0.45 },
  ] as const;

  const bare = await measureChild('bare', options);
  const ceilingName = 'bare Fastify + ajv';
  let real: Awaited<ReturnType<typeof measureChild>>;
  try {
    real = await measureChild('flamingo', options);
  } catch (error) {
    const note = `not available: ${(error as Error).message.split('\n')[0]}`;
    return [
      { section: 'http', name: batchName, unit: 'ev/s', value: undefined, ceiling: bare.batch.rate, ceilingName, goals: batchGoals, note },
      { section: 'http', name: singleName, unit: 'req/s', value: undefined, ceiling: bare.single.rate, ceilingName, goals: singleGoals },
    ];
  }
  return [
    {
      section: 'http',
      name: batchName,
      unit: 'ev/s',
      value: real.batch.rate,
      ceiling: bare.batch.rate,
      ceilingName,
      goals: batchGoals,
      note: describe(real.batch, options.batchConnections),
    },
    {
      section: 'http',
      name: singleName,
      unit: 'req/s',
      value: real.single.rate,
      ceiling: bare.single.rate,
      ceilingName,
      goals: singleGoals,
      note: describe(real.single, options.singleConnections),
    },
  ];
}
