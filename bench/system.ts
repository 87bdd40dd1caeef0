/**
 * Section 7: the whole product under a steady load. For each rate a fresh server runs in a child
 * process with every service and the audit projection (the embedded default, or NATS +
 * PostgreSQL with `--engine nats`), and a paced client in another child sends one `order.placed`
 * per request at that rate for `durationS`. Reported per rate: p50/p99/max of the 2xx answers
 * (from when each request was due), failures, each subscription's worst lag during the run in
 * events and seconds, and how long after the last answer every lag was back to zero. Then the
 * highest rate held: every request answered 2xx with p99 ≤ 25 ms.
 *
 * The ceiling of each latency is the same client at the same rate against the bare Fastify
 * server (parsing and validating the same bodies, storing nothing): what the client and the
 * machine alone cost.
 */
import pg from 'pg';
import { forkChild } from './children.ts';
import { startServerChild, type ServerChild } from './http.ts';
import type { Figure } from './report.ts';
import { sleep } from './stats.ts';
import type { PacedRequest, PacedResult } from './system-load.ts';

export interface SystemSectionOptions {
  readonly dir: string;
  /** Events (requests) per second, one run each. */
  readonly rates: readonly number[];
  readonly durationS: number;
  /** Seconds of the bare server's run at each rate (the ceiling). */
  readonly ceilingDurationS: number;
  /** How long after the end to wait for every lag to reach zero (ms). */
  readonly drainLimitMs: number;
  /** `--engine nats|redis`: PostgreSQL for the services' databases (a database per rate, dropped after). */
  readonly postgresUrl?: string;
  readonly runId: string;
}

/** The p99 a rate must keep to count as held (ms). */
const HELD_P99_MS = 25;
/** Subscriptions that wait on purpose (orders.payment-timeout waits 15 min per order): their lag is not a backlog. */
const DELAYED = new Set(['orders.payment-timeout']);

interface Sample {
  readonly atMs: number;
  readonly subscriptions: readonly { name: string; position: number; lag: number; consumers: number }[];
}

interface RateRun {
  readonly rate: number;
  readonly result: PacedResult;
  readonly ceiling?: PacedResult;
  /** Worst lag per subscription during the run: events, seconds. */
  readonly worst: Map<string, { events: number; seconds: number }>;
  /** Ms from the last answer until every lag was zero; undefined when it did not happen within the limit. */
  readonly drainMs: number | undefined;
  /** Server CPU time (every thread) per event answered, load and drain included (µs). */
  readonly cpuPerEventUs: number;
}

async function paced(request: PacedRequest): Promise<PacedResult> {
  const child = forkChild<{ result: PacedResult }>('system-load.ts');
  try {
    child.process.send(request);
    return (await child.first).result;
  } finally {
    await child.stop(2_000);
  }
}

async function sample(server: ServerChild): Promise<Sample | undefined> {
  try {
    const response = await fetch(`${server.url}/v1/subscriptions`, { headers: server.headers, signal: AbortSignal.timeout(5_000) });
    if (!response.ok) return undefined;
    const { subscriptions } = (await response.json()) as { subscriptions: Sample['subscriptions'] };
    return { atMs: Date.now(), subscriptions: subscriptions.filter((s) => s.consumers > 0 && !DELAYED.has(s.name)) };
  } catch {
    return undefined;
  }
}

/** Index of the first element of ascending `values` greater than `value`. */
function firstAbove(values: readonly number[], value: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid] <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A subscription's lag in seconds at a sample: how long ago the oldest event it has not done was
 * answered (the first of the client's events above its position).
 */
function lagSeconds(result: PacedResult, atMs: number, position: number): number {
  const i = firstAbove(result.sequences, position);
  if (i >= result.sequences.length) return 0;
  return Math.max(0, (atMs - result.answeredAtMs[i]) / 1000);
}

async function withDatabase<T>(options: SystemSectionOptions, rate: number, use: (url: string | undefined) => Promise<T>): Promise<T> {
  if (!options.postgresUrl) return use(undefined);
  const name = `flamingo_bench_${options.runId}_${rate}`.toLowerCase();
  const admin = new pg.Client({ connectionString: options.postgresUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
    const url = new URL(options.postgresUrl);
    url.pathname = `/${name}`;
    return await use(url.toString());
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
}

async function runRate(options: SystemSectionOptions, rate: number, bare: ServerChild | undefined): Promise<RateRun> {
  const ceiling = bare ? await paced({ url: `${bare.url}/v1/events`, rate, durationS: options.ceilingDurationS, headers: {} }) : undefined;
  return withDatabase(options, rate, async (databaseUrl) => {
    process.env.BENCH_NATS_STREAM = `BENCH_${options.runId}_SYSTEM_${rate}`;
    process.env.BENCH_REDIS_PREFIX = `bench-${options.runId}-system-${rate}`;
    const server = await startServerChild('system', options.dir, databaseUrl ? { BENCH_DATABASE_URL: databaseUrl } : {});
    try {
      const samples: Sample[] = [];
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const s = await sample(server);
          if (s) samples.push(s);
          await sleep(250);
        }
      })();
      const cpuBefore = await server.cpuUs();
      const result = await paced({ url: `${server.url}/v1/events`, rate, durationS: options.durationS, headers: server.publishHeaders });
      sampling = false;
      await sampler;
      // After the last answer: how long until every subscription has done everything.
      let drainMs: number | undefined;
      const drainStart = result.endedAtMs;
      while (Date.now() - drainStart < options.drainLimitMs) {
        const s = await sample(server);
        if (s) {
          samples.push(s);
          if (s.subscriptions.every((sub) => sub.lag === 0)) {
            drainMs = Math.max(0, s.atMs - drainStart);
            break;
          }
        }
        await sleep(50);
      }
      const cpuPerEventUs = ((await server.cpuUs()) - cpuBefore) / Math.max(1, result.ok2xx);
      const worst = new Map<string, { events: number; seconds: number }>();
      for (const s of samples) {
        for (const sub of s.subscriptions) {
          const seconds = sub.lag === 0 ? 0 : lagSeconds(result, s.atMs, sub.position);
          const before = worst.get(sub.name) ?? { events: 0, seconds: 0 };
          worst.set(sub.name, { events: Math.max(before.events, sub.lag), seconds: Math.max(before.seconds, seconds) });
        }
      }
      return { rate, result, ceiling, worst, drainMs, cpuPerEventUs };
    } finally {
      await server.stop();
    }
  });
}

const fixed = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '—');

function failures(result: PacedResult): number {
  return result.sent - result.ok2xx;
}

function held(run: RateRun): boolean {
  return failures(run.result) === 0 && run.result.p99Ms <= HELD_P99_MS;
}

function figuresOf(run: RateRun, engine: string): Figure[] {
  const { rate, result, ceiling } = run;
  const failed = failures(result);
  const statuses = Object.entries(result.statuses)
    .map(([code, count]) => `${code}×${count}`)
    .join(' ');
  const lags = [...run.worst.entries()]
    .sort((a, b) => b[1].seconds - a[1].seconds || b[1].events - a[1].events)
    .map(([name, w]) => `${name} ${w.events} ev/${fixed(w.seconds, 2)} s`)
    .join(', ');
  const worstSeconds = Math.max(0, ...[...run.worst.values()].map((w) => w.seconds));
  return [
    {
      section: 'system',
      name: `${rate} ev/s for ${Math.round(result.sent / rate)} s, ${engine}: p99 of the 2xx`,
      unit: 'ms',
      value: result.p99Ms,
      ceiling: ceiling?.p99Ms,
      ceilingName: 'bare Fastify at the same rate',
      goals: rate <= 1_000 ? [{ kind: 'atMost', value: HELD_P99_MS }] : undefined,
      note: [
        `p50 ${fixed(result.p50Ms, 2)} ms, max ${fixed(result.maxMs)} ms; ${result.ok2xx}/${result.sent} answered 2xx`,
        failed > 0 ? `${failed} failed (${statuses || 'no answer'}; ${result.errors} without an answer)` : '',
        `at most ${result.maxOutstanding} requests waiting`,
        `server CPU ${Math.round(run.cpuPerEventUs)} µs/event (all threads, drain included)`,
        ceiling ? `bare p50 ${fixed(ceiling.p50Ms, 2)} ms, max ${fixed(ceiling.maxMs)} ms` : '',
      ]
        .filter(Boolean)
        .join('; '),
    },
    {
      section: 'system',
      name: `${rate} ev/s, ${engine}: every lag back to zero after the end`,
      unit: 's',
      value: run.drainMs === undefined ? undefined : run.drainMs / 1000,
      goals: rate <= 1_000 ? [{ kind: 'atMost', value: 1 }] : undefined,
      note: `${run.drainMs === undefined ? 'not within the limit; ' : ''}worst lag ${fixed(worstSeconds, 2)} s; each subscription's worst: ${lags || 'none sampled'}`,
    },
  ];
}

export async function systemSection(options: SystemSectionOptions, engine: string): Promise<Figure[]> {
  const figures: Figure[] = [];
  const runs: RateRun[] = [];
  let bare: ServerChild | undefined;
  try {
    bare = await startServerChild('bare', options.dir);
  } catch {
    bare = undefined;
  }
  try {
    for (const rate of options.rates) {
      try {
        const run = await runRate(options, rate, bare);
        runs.push(run);
        figures.push(...figuresOf(run, engine));
      } catch (error) {
        figures.push({ section: 'system', name: `${rate} ev/s, ${engine}`, unit: 'ms', value: undefined, note: `failed: ${(error as Error).message.split('\n')[0]}` });
      }
    }
  } finally {
    await bare?.stop();
  }
  const heldRates = runs.filter(held).map((r) => r.rate);
  figures.push({
    section: 'system',
    name: `highest rate held (every request 2xx, p99 ≤ ${HELD_P99_MS} ms), ${engine}`,
    unit: 'ev/s',
    value: heldRates.length > 0 ? Math.max(...heldRates) : 0,
    goals: [{ kind: 'atLeast', value: 3_000 }],
    note: `of ${options.rates.join(', ')} ev/s`,
  });
  return figures;
}
