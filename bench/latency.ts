/**
 * Section 3: publish → handler latency at a fixed rate. Each event's clock starts just before
 * `bus.publish` and stops on entry to the subscription's handler, in the same process. Ceiling:
 * the raw store latency of one event at the same rate (SQLite: insert + commit; NATS: publish →
 * pull consumer receives).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { v7 as uuidv7 } from 'uuid';
import { dataPool } from './fixtures.ts';
import type { Figure, Goal } from './report.ts';
import { nowMs, paced, percentiles, sleep, type Percentiles } from './stats.ts';
import type { Target } from './targets.ts';

export interface LatencySectionOptions {
  /** Events per second. */
  readonly rate: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  /** `concurrency` of the subscription. */
  readonly concurrency: number;
}

interface BusLatency {
  readonly handler: Percentiles;
  /** publish → its promise resolved (durable). */
  readonly durable: Percentiles;
  readonly lagP99Ms: number;
  /** How long the event loop was blocked (p99, max) while measuring: a synchronous commit shows here. */
  readonly loopDelayMs: { readonly p99: number; readonly max: number };
  readonly missing: number;
  /** Handler entries for events already handled once. */
  readonly redelivered: number;
}

async function measure(target: Target, options: LatencySectionOptions, runId: string): Promise<BusLatency> {
  const opened = await target.open('latency');
  const { bus } = opened;
  try {
    const pool = dataPool(1_000);
    const sentAt = new Map<string, number>();
    let recording = false;
    const handlerMs: number[] = [];
    const durableMs: number[] = [];
    let redelivered = 0;
    const subscription = await bus.subscribe({ name: `bench-${runId}-latency`, types: ['order.placed'], startAt: 'beginning', concurrency: options.concurrency }, (event) => {
      const at = nowMs();
      const start = sentAt.get(event.id);
      // Only the first delivery counts; a second one of an acknowledged event is reported apart.
      if (start === undefined) {
        if (recording) redelivered += 1;
        return;
      }
      sentAt.delete(event.id);
      if (recording) handlerMs.push(at - start);
    });
    const send = (i: number) => {
      const id = uuidv7();
      const start = nowMs();
      sentAt.set(id, start);
      bus.publish({ id, type: 'order.placed', data: pool[i % pool.length] }).then(
        () => {
          if (recording) durableMs.push(nowMs() - start);
        },
        () => undefined,
      );
    };
    await paced(options.rate, options.warmupMs, send);
    await sleep(200);
    recording = true;
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    const pacing = await paced(options.rate, options.durationMs, send);
    loop.disable();
    const deadline = nowMs() + 5_000;
    while (handlerMs.length < pacing.sent && nowMs() < deadline) await sleep(20);
    recording = false;
    await subscription.close();
    return {
      handler: percentiles(handlerMs),
      durable: percentiles(durableMs),
      lagP99Ms: pacing.lagP99Ms,
      loopDelayMs: { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
      missing: pacing.sent - handlerMs.length,
      redelivered,
    };
  } finally {
    await opened.close();
  }
}

export async function latencySection(target: Target, options: LatencySectionOptions, runId: string): Promise<Figure[]> {
  const raw = await target.raw.latency({ rate: options.rate, durationMs: options.durationMs });
  const disk = await target.raw.diskSync?.({ rate: options.rate, durationMs: options.durationMs });
  const ceilingName = target.engine === 'sqlite' ? `${target.raw.label} insert+commit` : `${target.raw.label} pub→consume`;
  const at = `at ${options.rate}/s`;
  // Issue 8: p99 at most 1.5 ms on the embedded engine (Redis Streams, without fsync, measures 1.0–1.4 ms here).
  const p99Goal: Goal[] = target.engine === 'sqlite' ? [{ kind: 'atMost', value: 1.5 }] : [{ kind: 'ratioAtMost', value: 1.5 }];
  const result = await measure(target, options, runId);
  const row = (name: string, value: number, ceiling: number, goals?: Goal[], note?: string): Figure => ({
    section: 'latency',
    name,
    unit: 'ms',
    value,
    ceiling,
    ceilingName,
    goals,
    note,
  });
  const note = [
    `${result.handler.count} events over ${options.durationMs / 1000} s; pacing late by ≤ ${result.lagP99Ms.toFixed(2)} ms (p99)`,
    `event loop blocked p99 ${result.loopDelayMs.p99.toFixed(1)} ms, max ${result.loopDelayMs.max.toFixed(1)} ms`,
    // The floor under any durable log here (bench/sqlite-raw.ts rawDiskGroupCommit).
    disk ? `the disk alone under a group commit (16 KB + fdatasync a commit, same rate, arrival → synced): p50 ${disk.p50.toFixed(2)}, p99 ${disk.p99.toFixed(2)}, max ${disk.max.toFixed(1)} ms` : '',
    result.missing > 0 ? `${result.missing} events not handled within 5 s` : '',
    result.redelivered > 0 ? `${result.redelivered} events delivered a second time` : '',
  ]
    .filter(Boolean)
    .join('; ');
  return [
    row(`publish→handler p50 ${at}`, result.handler.p50, raw.p50),
    row(`publish→handler p99 ${at}`, result.handler.p99, raw.p99, p99Goal, note),
    row(`publish→handler max ${at}`, result.handler.max, raw.max),
    row(`publish→durable p99 ${at}`, result.durable.p99, raw.p99),
  ];
}
