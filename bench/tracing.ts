/**
 * Section `tracing`: what observability costs the publish path when tracing is off (no
 * `OTEL_EXPORTER_OTLP_ENDPOINT`): `bus.publish` through the middleware the app installs then
 * (`appMiddleware(metrics, undefined)`), beside the same bus without any middleware, in
 * alternating rounds (best of each kept). Goal: at least 0.95 of it (issue 12: under 5 %).
 */
import { appMiddleware } from '../src/app/flamingo.ts';
import { createMetrics } from '../src/platform/metrics.ts';
import { dataPool } from './fixtures.ts';
import type { Figure } from './report.ts';
import { closedLoop } from './stats.ts';
import type { Target } from './targets.ts';

export interface TracingSectionOptions {
  readonly inFlight: number;
  readonly durationMs: number;
  readonly rounds: number;
  readonly warmupMs: number;
}

export async function tracingSection(target: Target, options: TracingSectionOptions): Promise<Figure[]> {
  const plain = await target.open('tracing-plain');
  const observed = await target.open('tracing-unset', appMiddleware(createMetrics(), undefined));
  try {
    const pool = dataPool(1_000);
    const rate = async (bus: typeof plain.bus, durationMs: number) => {
      const { done, ms } = await closedLoop(options.inFlight, durationMs, (i) => bus.publish({ type: 'order.placed', data: pool[i % pool.length] }));
      return (done * 1000) / ms;
    };
    await rate(plain.bus, options.warmupMs);
    await rate(observed.bus, options.warmupMs);
    let ceiling = 0;
    let value = 0;
    // Each goes first in every other round, so neither always runs on a warmer machine.
    for (let round = 0; round < options.rounds; round++) {
      if (round % 2 === 0) {
        ceiling = Math.max(ceiling, await rate(plain.bus, options.durationMs));
        value = Math.max(value, await rate(observed.bus, options.durationMs));
      } else {
        value = Math.max(value, await rate(observed.bus, options.durationMs));
        ceiling = Math.max(ceiling, await rate(plain.bus, options.durationMs));
      }
    }
    return [
      {
        section: 'tracing',
        name: `bus.publish with the app's middleware, tracing unset, ${options.inFlight} in flight`,
        unit: 'ev/s',
        value,
        ceiling,
        ceilingName: 'the same bus without middleware',
        goals: [{ kind: 'ratioAtLeast', value: 0.95 }],
        note: `best of ${options.rounds}`,
      },
    ];
  } finally {
    await observed.close();
    await plain.close();
  }
}
