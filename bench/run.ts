/**
 * `npm run bench [-- --engine sqlite|nats|redis] [--quick] [--only publish,tracing,consume,latency,http,orders,hub,delivery,failover,warehouse,system]`
 *
 * Runs every section against the chosen engine, each figure beside its ceiling measured in the
 * same run, prints the table and then a JSON summary on stdout (progress goes to stderr). Works
 * in a temp dir (and per-run NATS streams) that are removed at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import { consumeSection } from './consume.ts';
import { deliverySection } from './delivery.ts';
import { failoverSection } from './failover.ts';
import { envelopeBytes } from './fixtures.ts';
import { httpSection } from './http.ts';
import { hubSection } from './hub.ts';
import { latencySection } from './latency.ts';
import { ordersSection } from './orders.ts';
import { tracingSection } from './tracing.ts';
import { publishSection } from './publish.ts';
import { warehouseSection } from './warehouse.ts';
import { formatTable, summaryOf, type Figure } from './report.ts';
import { systemSection } from './system.ts';
import { natsTarget, redisTarget, sqliteTarget, type EngineName, type Target } from './targets.ts';

const SECTIONS = ['publish', 'tracing', 'consume', 'latency', 'http', 'orders', 'hub', 'delivery', 'failover', 'warehouse', 'system'] as const;
type Section = (typeof SECTIONS)[number];

interface Settings {
  readonly engine: EngineName;
  readonly quick: boolean;
  readonly only: readonly Section[];
  readonly nats: readonly string[];
  readonly redis: string;
  readonly postgres: string;
  readonly rates: readonly number[];
  readonly jsonOnly: boolean;
}

function parseArgs(argv: readonly string[]): Settings {
  const program = new Command('bench')
    .description('Flamingo benchmark: each figure beside its raw ceiling, measured in the same run.')
    .addOption(new Option('--engine <engine>', 'engine under test').choices(['sqlite', 'nats', 'redis']).default('sqlite'))
    .option('--quick', 'short runs (about a minute in all)', false)
    .option('--only <sections>', `comma list of sections (${SECTIONS.join(', ')})`, SECTIONS.join(','))
    .option('--nats <servers>', 'NATS servers for --engine nats', 'nats://127.0.0.1:4222')
    .option('--redis <url>', 'Redis server for --engine redis', 'redis://127.0.0.1:6379')
    .option('--rates <rates>', 'comma list of the system section\'s rates (events/s)', '500,1000,2000,3000,4000')
    .option('--postgres <url>', 'PostgreSQL for the services in the system section on NATS or Redis', 'postgres://postgres@127.0.0.1:5432/postgres')
    .option('--json-only', 'print only the JSON summary on stdout (the table goes to stderr)', false)
    .parse([...argv], { from: 'user' });
  const options = program.opts<{ engine: EngineName; quick: boolean; only: string; nats: string; redis: string; postgres: string; rates: string; jsonOnly: boolean }>();
  const only = options.only.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = only.filter((s) => !(SECTIONS as readonly string[]).includes(s));
  if (unknown.length > 0) program.error(`unknown section ${unknown.join(', ')} (known: ${SECTIONS.join(', ')})`);
  const rates = options.rates.split(',').map(Number);
  if (rates.some((r) => !Number.isInteger(r) || r < 1 || r > 100_000)) program.error(`--rates: whole numbers of events/s from 1 to 100000, got ${options.rates}`);
  return {
    engine: options.engine,
    quick: options.quick,
    only: only as Section[],
    nats: options.nats.split(','),
    redis: options.redis,
    postgres: options.postgres,
    rates,
    jsonOnly: options.jsonOnly,
  };
}

const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);

/** Durations and sizes: full runs take a few minutes, `--quick` about one. */
function plan(quick: boolean, engine: EngineName) {
  // JetStream on this kind of machine stores and delivers an order of magnitude slower than SQLite: a smaller log keeps the run short.
  const logSize = engine === 'sqlite' ? (quick ? 50_000 : 200_000) : quick ? 10_000 : 40_000;
  return {
    publish: { inFlight: 128, durationMs: quick ? 2_000 : 4_000, rounds: quick ? 1 : 2, warmupMs: quick ? 500 : 1_000 },
    consume: { events: logSize, concurrency: 16, timeoutMs: quick ? 20_000 : 60_000 },
    latency: { rate: 2_000, durationMs: quick ? 3_000 : 10_000, warmupMs: quick ? 500 : 1_000, concurrency: 16 },
    http: { durationS: quick ? 2 : 5, rounds: quick ? 1 : 2, warmupS: 1, batchSize: 100, singleConnections: 64, batchConnections: 16 },
    orders: { durationS: quick ? 4 : 15, rate: 50, settleMs: quick ? 4_000 : 10_000 },
    hub: { ordersPerMinute: 500, durationMs: quick ? 10_000 : 30_000, customers: 50, backlog: 20_000, urgentSamples: quick ? 3 : 5 },
    delivery: { backlog: quick ? 1_500 : 5_000, rate: 100, latencyMs: quick ? 3_000 : 10_000, learning: quick ? 500 : 2_000 },
    failover: { events: 10_000, rate: quick ? 2_000 : 1_000, settleMs: 30_000 },
    warehouse: { events: quick ? 50_000 : 200_000, rate: 2_000, durationMs: quick ? 3_000 : 10_000, batchSize: 2_000 },
    system: { durationS: quick ? 5 : 30, ceilingDurationS: quick ? 3 : 10, drainLimitMs: 30_000 },
  };
}

async function runSection(section: Section, target: Target, settings: Settings, dir: string, runId: string): Promise<Figure[]> {
  const p = plan(settings.quick, settings.engine);
  switch (section) {
    case 'publish':
      return publishSection(target, p.publish);
    case 'tracing':
      return tracingSection(target, { ...p.publish, rounds: Math.max(4, p.publish.rounds * 2) });
    case 'consume':
      return consumeSection(target, p.consume, runId);
    case 'latency':
      return latencySection(target, p.latency, runId);
    case 'http':
      process.env.BENCH_NATS_STREAM = `BENCH_${runId}_HTTP`;
      process.env.BENCH_REDIS_PREFIX = `bench-${runId}-http`;
      return httpSection({ dir, ...p.http });
    case 'orders':
      process.env.BENCH_NATS_STREAM = `BENCH_${runId}_ORDERS`;
      process.env.BENCH_REDIS_PREFIX = `bench-${runId}-orders`;
      return ordersSection({ dir, ...p.orders });
    case 'hub':
      process.env.BENCH_NATS_STREAM = `BENCH_${runId}_HUB`;
      return hubSection({ dir, ...p.hub });
    case 'delivery':
      return deliverySection(target, { dir, ...p.delivery });
    case 'failover':
      return failoverSection(target, { dir, servers: settings.engine === 'redis' ? settings.redis : settings.nats.join(','), ...p.failover });
    case 'warehouse':
      return warehouseSection(target, { dir, ...p.warehouse });
    case 'system':
      return systemSection(
        { dir, runId, ...p.system, rates: settings.rates, ...(settings.engine === 'sqlite' ? {} : { postgresUrl: settings.postgres }) },
        settings.engine === 'sqlite' ? 'SQLite' : settings.engine === 'nats' ? 'NATS + PostgreSQL' : 'Redis + PostgreSQL',
      );
  }
}

async function main(): Promise<void> {
  const settings = parseArgs(process.argv.slice(2));
  const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flamingo-bench-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  // Also when the process ends some other way than through `main`'s end.
  process.once('exit', cleanup);
  const targetOptions = { dir, runId, natsServers: settings.nats, redisUrl: settings.redis };
  if (settings.engine === 'nats') {
    // Server sections run the real server in a child, each on a stream of its own (removed with the run's others).
    process.env.BENCH_ENGINE = settings.nats.join(',');
  }
  if (settings.engine === 'redis') process.env.BENCH_ENGINE = settings.redis;
  const target = settings.engine === 'sqlite' ? sqliteTarget(targetOptions) : settings.engine === 'nats' ? natsTarget(targetOptions) : redisTarget(targetOptions);
  process.once('SIGINT', () => {
    progress('interrupted, cleaning up');
    target.raw
      .close()
      .catch(() => undefined)
      .finally(() => {
        cleanup();
        process.exit(130);
      });
  });
  const startedAt = new Date();
  const loadAtStart = os.loadavg()[0];
  const started = Date.now();
  const figures: Figure[] = [];
  progress(`engine ${settings.engine}${settings.quick ? ' (quick)' : ''}, work dir ${dir}`);
  // A part that waits on an unreferenced handle (a worker, an unref'd timer) must not let the
  // process run out of work and exit in the middle of a section: the run keeps itself alive.
  const keepAlive = setInterval(() => undefined, 1_000);
  const baseLimitMs = settings.quick ? 90_000 : 240_000;
  // The system section runs a server and a client per rate (the load, the bare route, the drain): its limit grows with the rates.
  const limitOf = (section: Section) => (section === 'system' ? 30_000 + settings.rates.length * (settings.quick ? 45_000 : 120_000) : baseLimitMs);
  try {
    for (const section of settings.only) {
      const sectionStart = Date.now();
      progress(`${section}…`);
      let timer: NodeJS.Timeout | undefined;
      try {
        const limitMs = limitOf(section);
        const timedOut = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`did not finish within ${limitMs / 1000} s`)), limitMs);
        });
        figures.push(...(await Promise.race([runSection(section, target, settings, dir, runId), timedOut])));
      } catch (error) {
        figures.push({ section, name: '(section failed)', unit: '', value: undefined, note: `failed: ${(error as Error).stack?.split('\n').slice(0, 3).join(' ') ?? String(error)}` });
      } finally {
        clearTimeout(timer);
      }
      progress(`${section} done in ${((Date.now() - sectionStart) / 1000).toFixed(1)} s`);
    }
  } finally {
    clearInterval(keepAlive);
    await target.raw.close().catch((error: unknown) => progress(`closing raw ceilings: ${(error as Error).message}`));
    cleanup();
  }

  const summary = summaryOf(
    {
      engine: settings.engine,
      quick: settings.quick,
      startedAt: startedAt.toISOString(),
      durationS: Math.round((Date.now() - started) / 100) / 10,
      machine: {
        cpus: os.cpus().length,
        cpu: os.cpus()[0]?.model ?? 'unknown',
        node: process.version,
        platform: `${os.platform()} ${os.release()}`,
        load: [Math.round(loadAtStart * 100) / 100, Math.round(os.loadavg()[0] * 100) / 100],
      },
      eventBytes: envelopeBytes(),
    },
    figures,
  );
  const table = [
    `Flamingo bench — engine ${settings.engine}${settings.quick ? ' (quick)' : ''}, ${summary.machine.cpus} cpus (${summary.machine.cpu}), node ${process.version}, events of ${summary.eventBytes} bytes, ${summary.durationS} s, load average ${summary.machine.load[0]} → ${summary.machine.load[1]}`,
    '',
    formatTable(figures),
  ].join('\n');
  if (settings.jsonOnly) {
    process.stderr.write(`${table}\n`);
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } else {
    process.stdout.write(`${table}\n\nJSON summary:\n${JSON.stringify(summary, null, 2)}\n`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
