/** `flamingo simulate`: the command-line face of `simulate()`. */
import { Command, Option } from 'commander';
import { defaultUrl, resolveKey } from '../../src/app/cli/client.ts';
import { UsageError } from '../../src/app/cli/output.ts';
import { parseDuration, parsePositive } from './options.ts';
import { simulate, type SimulationReport } from './simulate.ts';

interface SimulateFlags {
  rate: string;
  duration: string;
  url?: string;
  key?: string;
  products: string;
  stock: string;
  drain: string;
  seed?: string;
}

function summary(report: SimulationReport): string[] {
  const { stats, requests } = report;
  const reasons = Object.entries(stats.cancelledBy)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  const ms = (v: number | undefined) => (v === undefined ? '–' : `${Math.round(v)} ms`);
  return [
    `visits ${stats.journeys}${stats.skipped > 0 ? ` (${stats.skipped} skipped: the server fell behind)` : ''}, sign-ups ${stats.signups}, carts ${stats.carts}`,
    `orders placed ${stats.placed}, confirmed ${stats.confirmed}, cancelled ${stats.cancelled}${reasons ? ` (${reasons})` : ''}, completed ${stats.completed}`,
    `placed → confirmed p50 ${ms(report.confirmLatencyMs.p50)}, p95 ${ms(report.confirmLatencyMs.p95)}, p99 ${ms(report.confirmLatencyMs.p99)}; ${report.confirmedPerSecond.toFixed(2)} confirmed/s`,
    `shipments dispatched ${stats.shipmentsDispatched}, delivered ${stats.shipmentsDelivered}; restocks ${stats.restocks}; reviews ${stats.reviews} (${stats.reviewsFlagged} flagged)`,
    `requests ${requests.requests} (${requests.rejected} 4xx, ${requests.failed} 5xx/network); unexpected errors ${stats.errors}`,
    ...stats.lastErrors.map((e) => `  last error: ${e}`),
  ];
}

/** Parses the flags and runs the simulation; exit code 1 when nothing was confirmed or errors were seen. */
export async function runSimulate(flags: SimulateFlags): Promise<void> {
  const key = resolveKey(flags.key);
  if (!key) throw new UsageError('the simulator needs the admin key (--key, FLAMINGO_ADMIN_KEY or <FLAMINGO_DATA_DIR>/admin.key)');
  const controller = new AbortController();
  const interrupt = () => controller.abort();
  process.once('SIGINT', interrupt);
  try {
    const report = await simulate({
      url: flags.url ?? defaultUrl(),
      key,
      rate: parsePositive('--rate', flags.rate),
      durationMs: parseDuration('--duration', flags.duration),
      products: parsePositive('--products', flags.products, { integer: true }),
      stock: parsePositive('--stock', flags.stock, { integer: true }),
      drainMs: parseDuration('--drain', flags.drain),
      seed: flags.seed === undefined ? undefined : parsePositive('--seed', flags.seed, { integer: true }),
      signal: controller.signal,
    });
    for (const line of summary(report)) console.log(line);
    if (report.stats.confirmed === 0 || report.requests.failed > 0) process.exitCode = 1;
  } finally {
    process.off('SIGINT', interrupt);
  }
}

/** Adds `simulate` to the `flamingo` program. */
export function registerSimulateCommand(program: Command): Command {
  return program
    .command('simulate')
    .description('drive realistic shop traffic through the HTTP API (sign-ups, carts, orders, payments, shipments, reviews) and show it live')
    .option('--rate <n>', 'shopper visits started per second (most end in an order)', '5')
    .option('--duration <d>', 'how long visits keep arriving: 30s, 2m, 500ms', '60s')
    .addOption(new Option('--url <url>', 'where Flamingo runs (env FLAMINGO_URL)').default(undefined, defaultUrl()))
    .addOption(new Option('--key <key>', 'the admin key (env FLAMINGO_ADMIN_KEY, or <FLAMINGO_DATA_DIR>/admin.key)'))
    .option('--products <n>', 'products to create', '8')
    .option('--stock <n>', 'units per product at the start and per restock', '200')
    .option('--drain <d>', 'after the last visit, how long to wait for orders to settle', '20s')
    .option('--seed <n>', "repeat a run's choices")
    .action(async (flags: SimulateFlags) => runSimulate(flags));
}
