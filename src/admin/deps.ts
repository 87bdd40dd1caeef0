import type { Bus } from '../bus/index.ts';
import type { KeyStore } from '../platform/auth/index.ts';
import type { Metrics } from '../platform/metrics.ts';
import type { OverviewSamplerOptions } from './overview.ts';

/** What the admin API needs. */
export interface AdminDeps {
  readonly bus: Bus;
  readonly keys: KeyStore;
  readonly metrics: Metrics;
  /** Flamingo's version, shown by the catalog documents. */
  readonly version: string;
  /** The console overview's sampling. (Default: every 10 s, one hour kept) */
  readonly overview?: OverviewSamplerOptions;
}
