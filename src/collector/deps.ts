import type { Bus } from '../bus/index.ts';
import type { Guard } from '../platform/auth/index.ts';
import type { FlamingoConfig } from '../platform/config.ts';
import type { Metrics } from '../platform/metrics.ts';
import type { CollectLimits } from './collect.ts';

/** What the collector's routes need. */
export interface CollectorDeps {
  readonly bus: Bus;
  readonly guard: Guard;
  readonly metrics: Metrics;
  readonly config: Pick<FlamingoConfig, 'seedTypes'>;
  readonly limits: CollectLimits;
}
