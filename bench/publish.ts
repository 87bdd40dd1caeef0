/**
 * Section 1: in-process publish rate. `inFlight` concurrent `bus.publish` calls of 1 KB
 * `order.placed` events (UUIDv7 ids minted by the bus), each awaited until durable, beside the raw
 * ceiling of the engine's storage with as many events per transaction / in flight.
 */
import type { Figure } from './report.ts';
import { dataPool } from './fixtures.ts';
import { closedLoop } from './stats.ts';
import type { Target } from './targets.ts';

export interface PublishSectionOptions {
  readonly inFlight: number;
  readonly durationMs: number;
  readonly warmupMs: number;
}

export async function publishSection(target: Target, options: PublishSectionOptions): Promise<Figure[]> {
  const name = `bus.publish, ${options.inFlight} in flight`;
  const goal = target.engine === 'sqlite' ? 0.7 : 0.8;
  const ceilingName = `${target.raw.label}, ${target.engine === 'sqlite' ? `${options.inFlight}/txn` : `${options.inFlight} pipelined`}`;
  const ceiling = await target.raw.publish({ inFlight: options.inFlight, durationMs: options.durationMs });

  const opened = await target.open('publish');
  if (!opened.ok) {
    return [{ section: 'publish', name, unit: 'ev/s', value: undefined, ceiling, ceilingName, goals: [{ kind: 'ratioAtLeast', value: goal }], note: `not available: ${opened.reason}` }];
  }
  const { bus } = opened.value;
  try {
    const pool = dataPool(1_000);
    const publishOne = (i: number) => bus.publish({ type: 'order.placed', data: pool[i % pool.length] });
    await closedLoop(options.inFlight, options.warmupMs, publishOne);
    const { done, ms } = await closedLoop(options.inFlight, options.durationMs, publishOne);
    return [{ section: 'publish', name, unit: 'ev/s', value: (done * 1000) / ms, ceiling, ceilingName, goals: [{ kind: 'ratioAtLeast', value: goal }] }];
  } finally {
    await opened.value.close();
  }
}
