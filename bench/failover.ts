/**
 * Section 7: redeliveries, and what a SIGKILL costs. Two worker processes share a key-ordered
 * subscription (failover-worker.ts, the engine's default lease and ack wait); 10 000 events of
 * 1 000 keys are published at a steady rate, once with both alive and once killing one with
 * SIGKILL halfway. Each worker writes every delivery to a file before acknowledging it, so the
 * figures are exact: deliveries beyond the first of an event, per 10 000 events, and events never
 * delivered. The ideal (the ceiling) is no redelivery at all. How soon a survivor takes over is
 * tested in `test/failover.int.test.ts`.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { forkChild, type Child } from './children.ts';
import { dataPool } from './fixtures.ts';
import type { Figure } from './report.ts';
import { paced, sleep } from './stats.ts';
import type { Target } from './targets.ts';

export interface FailoverSectionOptions {
  readonly dir: string;
  readonly events: number;
  /** Events per second. */
  readonly rate: number;
  /** How long to wait for every event after the last publish. */
  readonly settleMs: number;
  /** NATS servers or the Redis URL the workers connect to. */
  readonly servers: string;
}

interface Run {
  readonly redeliveries: number;
  readonly missing: number;
  /** Deliveries each process recorded. */
  readonly byProcess: readonly number[];
}

const lines = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

async function run(target: Target, options: FailoverSectionOptions, label: string, kill: boolean): Promise<Run> {
  const opened = await target.open(label);
  const log = opened.log.kind === 'nats' ? opened.log.stream : opened.log.kind === 'redis' ? opened.log.prefix : '';
  const files = ['a', 'b'].map((name) => path.join(options.dir, `${label}-${name}.deliveries`));
  const workers: Child<{ ready: boolean }>[] = files.map((file) => forkChild('failover-worker.ts', [target.engine, options.servers, log, 'bench-failover', file]));
  try {
    await Promise.all(workers.map((worker) => worker.first));
    // Both hold their share of the partitions before the first event.
    await sleep(4_000);
    const pool = dataPool(1_000);
    const ids: string[] = [];
    let killed = false;
    await paced(options.rate, (options.events * 1000) / options.rate, (i) => {
      if (ids.length >= options.events) return;
      const id = uuidv7();
      ids.push(id);
      void opened.bus.publish({ id, type: 'order.placed', data: pool[i % pool.length] }).catch(() => undefined);
      if (kill && !killed && ids.length === Math.floor(options.events / 2)) {
        workers[1].process.kill('SIGKILL');
        killed = true;
      }
    });
    const deadline = Date.now() + options.settleMs;
    const unique = () => new Set([...lines(files[0]), ...lines(files[1])]).size;
    while (unique() < ids.length && Date.now() < deadline) await sleep(100);
    await sleep(500);
    const all = [...lines(files[0]), ...lines(files[1])];
    const seen = new Set(all);
    return {
      redeliveries: ((all.length - seen.size) * 10_000) / ids.length,
      missing: ids.filter((id) => !seen.has(id)).length,
      byProcess: files.map((file) => lines(file).length),
    };
  } finally {
    await Promise.all(workers.map((worker) => worker.stop(5_000)));
    await opened.close();
  }
}

export async function failoverSection(target: Target, options: FailoverSectionOptions): Promise<Figure[]> {
  if (target.engine === 'sqlite') {
    return [{ section: 'failover', name: 'redeliveries per 10 000 events', unit: '', value: undefined, note: 'one process owns a SQLite log: no fail-over between processes' }];
  }
  const calm = await run(target, options, 'failover-calm', false);
  const killed = await run(target, options, 'failover-kill', true);
  const note = (r: Run) => `${r.missing} never delivered; deliveries by process ${r.byProcess.join(' / ')}`;
  return [
    { section: 'failover', name: 'redeliveries per 10 000 events, 2 processes', unit: '', value: calm.redeliveries, ceiling: 0, ceilingName: 'none', goals: [{ kind: 'atMost', value: 0 }], note: note(calm) },
    { section: 'failover', name: 'redeliveries per 10 000 events, one of 2 SIGKILLed halfway', unit: '', value: killed.redeliveries, ceiling: 0, ceilingName: 'none', note: note(killed) },
  ];
}
