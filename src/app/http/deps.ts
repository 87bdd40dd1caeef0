import type { Bus } from '../../bus/index.ts';
import type { Guard, KeyStore } from '../../platform/auth/index.ts';
import type { FlamingoConfig } from '../../platform/config.ts';
import type { Metrics } from '../../platform/metrics.ts';
import type { CollectLimits } from '../collector/collect.ts';

/** What the app's routes need. */
export interface RouteDeps {
  readonly bus: Bus;
  readonly guard: Guard;
  readonly keys: KeyStore;
  readonly metrics: Metrics;
  readonly config: Pick<FlamingoConfig, 'seedTypes'>;
  readonly limits: CollectLimits;
}
