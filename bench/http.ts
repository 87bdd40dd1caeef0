/**
 * Section 4: HTTP ingest on loopback. The real server (collector, bus, SQLite engine; no services) and
 * the bare Fastify ceiling each run in a child process, and autocannon in another, so none of the
 * three shares an event loop. Batched: `application/cloudevents-batch+json` bodies of
 * `batchSize` events, in events/s; one per request: structured CloudEvents, in requests/s.
 *
 * Both servers stay up for the whole section and are measured in alternating rounds, the best
 * round of each kept, so that other work on the machine weighs on both alike.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { forkChild } from './children.ts';
import type { LoadRequest, LoadResult } from './http-load.ts';
import type { Figure } from './report.ts';

export interface HttpSectionOptions {
  readonly dir: string;
  /** Seconds of one measured round. */
  readonly durationS: number;
  /** Measured rounds per server and mode; the best is kept. */
  readonly rounds: number;
  readonly warmupS: number;
  readonly batchSize: number;
  readonly singleConnections: number;
  readonly batchConnections: number;
}

export const ADMIN_KEY = 'bench-admin-key-0123456789abcdef';

export interface ServerChild {
  readonly url: string;
  /** Headers every request needs (the admin key for the real server). */
  readonly headers: Record<string, string>;
  /** Headers of the load's publishes: `order.placed` takes a key scoped to producer orders on the real server (issue 7). */
  readonly publishHeaders: Record<string, string>;
  /** CPU time the server process has used so far (µs). */
  cpuUs(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Starts `bench/http-server.ts <mode>` in a child process with its own data dir under `dir`:
 * `bare` (the ceiling), `flamingo` (no services), `shop` (every service) or `system` (every
 * service and the audit projection); `env` is added to the child's environment.
 */
export async function startServerChild(mode: 'bare' | 'flamingo' | 'shop' | 'system', dir: string, env: Record<string, string> = {}): Promise<ServerChild> {
  const dataDir = path.join(dir, `server-${mode}-${Date.now().toString(36)}`);
  mkdirSync(dataDir, { recursive: true });
  const server = forkChild<{ port: number }>('http-server.ts', [mode], { ...env, BENCH_DATA_DIR: dataDir, BENCH_ADMIN_KEY: ADMIN_KEY });
  try {
    const { port } = await server.first;
    const cpuUs = () =>
      new Promise<number>((resolve) => {
        server.process.once('message', (message: { cpuUs: number }) => resolve(message.cpuUs));
        server.process.send('cpu');
      });
    const url = `http://127.0.0.1:${port}`;
    if (mode === 'bare') return { url, headers: {}, publishHeaders: {}, cpuUs, stop: () => server.stop() };
    const headers = { authorization: `Bearer ${ADMIN_KEY}` };
    const created = await fetch(`${url}/v1/keys`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ producer: 'orders' }) });
    if (created.status !== 201) throw new Error(`POST /v1/keys answered ${created.status}: ${await created.text()}`);
    const { key } = (await created.json()) as { key: string };
    return { url, headers, publishHeaders: { authorization: `Bearer ${key}` }, cpuUs, stop: () => server.stop() };
  } catch (error) {
    await server.stop();
    throw error;
  }
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

interface Measured {
  readonly rate: number;
  readonly result: LoadResult;
  /** Server CPU time per event (µs). */
  readonly cpuPerEvent: number;
}

type Mode = 'single' | 'batch';

function loadOf(server: ServerChild, mode: Mode, options: HttpSectionOptions, durationS: number): LoadRequest {
  return {
    url: `${server.url}/v1/events`,
    mode,
    batchSize: options.batchSize,
    connections: mode === 'single' ? options.singleConnections : options.batchConnections,
    headers: server.publishHeaders,
    durationS,
  };
}

async function measure(server: ServerChild, mode: Mode, options: HttpSectionOptions): Promise<Measured> {
  const cpuBefore = await server.cpuUs();
  const result = await load(loadOf(server, mode, options, options.durationS));
  const cpuUs = (await server.cpuUs()) - cpuBefore;
  const perRequest = mode === 'single' ? 1 : options.batchSize;
  const events = result.ok2xx * perRequest;
  return { rate: events / result.durationS, result, cpuPerEvent: cpuUs / Math.max(1, events) };
}

const best = (a: Measured | undefined, b: Measured) => (a === undefined || b.rate > a.rate ? b : a);

function describe(measured: Measured, ceiling: Measured | undefined, connections: number, rounds: number): string {
  const { result } = measured;
  const bad = result.non2xx + result.errors + result.timeouts;
  const statuses = Object.entries(result.statuses)
    .map(([code, count]) => `${code}×${count}`)
    .join(' ');
  const cpu = `server CPU ${measured.cpuPerEvent.toFixed(1)} µs/event${ceiling ? ` (bare ${ceiling.cpuPerEvent.toFixed(1)})` : ''}`;
  const base = `best of ${rounds}; ${connections} connections, p50 ${result.latencyP50Ms} ms, p99 ${result.latencyP99Ms} ms; ${cpu}`;
  return bad > 0 ? `${base}; ${bad} failed (${statuses}; ${result.errors} errors, ${result.timeouts} timeouts)` : base;
}

export async function httpSection(options: HttpSectionOptions): Promise<Figure[]> {
  const names = { batch: `batched, ${options.batchSize} events/request`, single: 'one event per request (structured)' };
  const units = { batch: 'ev/s', single: 'req/s' };
  const goals = {
    batch: [{ kind: 'atLeast', value: 50_000 }],
    single: [
      { kind: 'atLeast', value: 15_000 },
      { kind: 'ratioAtLeast', value: 0.45 },
    ],
  } as const;
  const ceilingName = 'bare Fastify + ajv';
  const modes: Mode[] = ['batch', 'single'];

  const bare = await startServerChild('bare', options.dir);
  let real: ServerChild | undefined;
  let unavailable: string | undefined;
  try {
    real = await startServerChild('flamingo', options.dir);
  } catch (error) {
    unavailable = `not available: ${(error as Error).message.split('\n')[0]}`;
  }
  const figures: Figure[] = [];
  try {
    for (const mode of modes) {
      await load(loadOf(bare, mode, options, options.warmupS));
      if (real) await load(loadOf(real, mode, options, options.warmupS));
      let ceiling: Measured | undefined;
      let value: Measured | undefined;
      for (let round = 0; round < options.rounds; round++) {
        ceiling = best(ceiling, await measure(bare, mode, options));
        if (real) value = best(value, await measure(real, mode, options));
      }
      const connections = mode === 'single' ? options.singleConnections : options.batchConnections;
      figures.push({
        section: 'http',
        name: names[mode],
        unit: units[mode],
        value: value?.rate,
        ceiling: ceiling?.rate,
        ceilingName,
        goals: goals[mode],
        note: value ? describe(value, ceiling, connections, options.rounds) : unavailable,
      });
    }
  } finally {
    await Promise.all([bare.stop(), real?.stop()]);
  }
  return figures;
}
