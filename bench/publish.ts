/**
 * Section 1: in-process publish rate. `inFlight` concurrent `bus.publish` calls of 1 KB
 * `order.placed` events (UUIDv7 ids minted by the bus), each awaited until durable, beside the raw
 * ceiling of the engine's storage with as many events per transaction / in flight. The two are
 * measured in alternating rounds and the best round of each is kept, so that other work on the
 * machine weighs on both alike.
 */
import type { Engine } from '../src/bus/index.ts';
import { dataPool } from './fixtures.ts';
import type { Figure } from './report.ts';
import { closedLoop, cpuMeter } from './stats.ts';
import type { Target } from './targets.ts';

export interface PublishSectionOptions {
  readonly inFlight: number;
  /** One measured round. */
  readonly durationMs: number;
  readonly rounds: number;
  readonly warmupMs: number;
}

/** The SQLite engine tells how its group commit went (`stats()`); other engines say nothing. */
function groupCommits(engine: Engine): { transactions: number; events: number } | undefined {
  const stats = (engine as Engine & { stats?: () => { transactions: number; events: number } }).stats;
  return typeof stats === 'function' ? stats.call(engine) : undefined;
}

export async function publishSection(target: Target, options: PublishSectionOptions): Promise<Figure[]> {
  const name = `bus.publish, ${options.inFlight} in flight`;
  const goals = [{ kind: 'ratioAtLeast', value: target.engine === 'sqlite' ? 0.7 : 0.8 }] as const;
  const ceilingName = `${target.raw.label}, ${target.engine === 'sqlite' ? `${options.inFlight}/txn` : `${options.inFlight} pipelined`}`;
  const rawRound = () => target.raw.publish({ inFlight: options.inFlight, durationMs: options.durationMs });

  const opened = await target.open('publish');
  const { bus, engine } = opened;
  try {
    const pool = dataPool(1_000);
    const publishOne = (i: number) => bus.publish({ type: 'order.placed', data: pool[i % pool.length] });
    await closedLoop(options.inFlight, options.warmupMs, publishOne);
    let ceiling = 0;
    let value = 0;
    let commits: string | undefined;
    let cpu = Infinity;
    let rawCpu = Infinity;
    for (let round = 0; round < options.rounds; round++) {
      const rawUsed = cpuMeter();
      const raw = await rawRound();
      rawCpu = Math.min(rawCpu, rawUsed() / Math.max(1, raw.events));
      ceiling = Math.max(ceiling, raw.rate);
      const before = groupCommits(engine);
      const used = cpuMeter();
      const { done, ms } = await closedLoop(options.inFlight, options.durationMs, publishOne);
      cpu = Math.min(cpu, used() / done);
      const after = groupCommits(engine);
      const rate = (done * 1000) / ms;
      if (rate > value && before && after) {
        const transactions = after.transactions - before.transactions;
        commits = `${transactions} transactions, ${((after.events - before.events) / Math.max(1, transactions)).toFixed(1)} events each`;
      }
      value = Math.max(value, rate);
    }
    const note = [`best of ${options.rounds}`, `CPU ${cpu.toFixed(1)} µs/event (raw ${rawCpu.toFixed(1)})`, commits].filter(Boolean).join('; ');
    return [{ section: 'publish', name, unit: 'ev/s', value, ceiling, ceilingName, goals, note }];
  } finally {
    await opened.close();
  }
}
